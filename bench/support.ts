/**
 * Shared by the benches: a cluster to run against (BENCH_KUBECONFIG, or a fresh one
 * started with sandbox/cluster.ts and removed at the end) and a timer.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureCluster } from '../sandbox/cluster.js';
import { toolsBin } from '../sandbox/paths.js';

export interface BenchCluster {
  kubeconfigPath: string;
  toolsBin: string;
  close(): Promise<void>;
}

export async function benchCluster(): Promise<BenchCluster> {
  const bin = toolsBin();
  const given = process.env.BENCH_KUBECONFIG;
  if (given) return { kubeconfigPath: given, toolsBin: bin, close: async () => undefined };
  const workdir = mkdtempSync(join(tmpdir(), 'bwm-bench-'));
  console.error('[bench] starting a kwok cluster…');
  const cluster = await ensureCluster({
    name: `bwm-bench-${randomBytes(3).toString('hex')}`,
    toolsBin: bin,
    workdir,
  });
  return {
    kubeconfigPath: cluster.kubeconfigPath,
    toolsBin: bin,
    close: async () => {
      await cluster.remove();
      rmSync(workdir, { recursive: true, force: true });
    },
  };
}

export async function timed<T>(fn: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const start = performance.now();
  const value = await fn();
  return { ms: performance.now() - start, value };
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? (s[mid] as number) : ((s[mid - 1] as number) + (s[mid] as number)) / 2;
}
