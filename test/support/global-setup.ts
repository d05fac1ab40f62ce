/**
 * Starts the shared test stack once per test run: a Temporal dev server (headless,
 * random port, SQLite in a temporary folder) and a kwok cluster (real etcd,
 * kube-apiserver, controller-manager, scheduler) under a unique name. Both are torn
 * down at the end of the run.
 *
 * Skipped when only unit tests run. To iterate quickly, start a long-lived test stack
 * with `npm run stack:test` and export the variables it prints (BWM_TEST_KUBECONFIG,
 * BWM_TEST_TEMPORAL): the tests then reuse it.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { type Cluster, ensureCluster } from '../../sandbox/cluster.js';
import { toolsBin as resolveToolsBin } from '../../sandbox/paths.js';
import { freePort } from '../../sandbox/process.js';
import { startTemporal, type TemporalServer } from '../../sandbox/temporal.js';

interface Stack {
  kubeconfig: string;
  temporalAddress: string;
  toolsBin: string;
  dataDir: string;
  teardown(): Promise<void>;
}

const KEY = Symbol.for('burst-workers-mcp.test-stack');
type Holder = { [KEY]?: Promise<Stack> };

function onlyUnitTests(project: TestProject): boolean {
  if (process.env.BWM_NO_STACK === '1') return true;
  const filter = project.globalConfig.project;
  if (filter.length > 0 && filter.every((p) => p === 'unit')) return true;
  const files = process.argv.slice(2).filter((a) => a.includes('test/'));
  return files.length > 0 && files.every((f) => f.includes('test/unit'));
}

/** Starts (startCluster + startTemporal) or reuses the test stack. */
export async function startTestStack(): Promise<Stack> {
  const bin = resolveToolsBin();
  if (process.env.BWM_TEST_KUBECONFIG && process.env.BWM_TEST_TEMPORAL) {
    const dataDir = mkdtempSync(join(tmpdir(), 'bwm-test-'));
    return {
      kubeconfig: process.env.BWM_TEST_KUBECONFIG,
      temporalAddress: process.env.BWM_TEST_TEMPORAL,
      toolsBin: bin,
      dataDir,
      teardown: async () => rmSync(dataDir, { recursive: true, force: true }),
    };
  }
  const dataDir = mkdtempSync(join(tmpdir(), 'bwm-test-'));
  let temporal: TemporalServer | undefined;
  let cluster: Cluster | undefined;
  const teardown = async () => {
    await Promise.allSettled([cluster?.remove(), temporal?.stop()]);
    if (process.env.BWM_KEEP_TEST_DATA !== '1') rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    [temporal, cluster] = await Promise.all([
      startTemporal({
        toolsBin: bin,
        dbFile: join(dataDir, 'temporal.db'),
        logFile: join(dataDir, 'temporal.log'),
        port: await freePort(),
        uiPort: 0,
        ui: false,
      }),
      ensureCluster({
        name: `bwm-test-${randomBytes(3).toString('hex')}`,
        toolsBin: bin,
        workdir: join(dataDir, 'kwok'),
      }),
    ]);
  } catch (err) {
    await teardown();
    throw err;
  }
  return {
    kubeconfig: cluster.kubeconfigPath,
    temporalAddress: temporal.address,
    toolsBin: bin,
    dataDir,
    teardown,
  };
}

export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  if (onlyUnitTests(project)) return undefined;
  const holder = globalThis as Holder;
  const first = holder[KEY] === undefined;
  holder[KEY] ??= startTestStack();
  const stack = await holder[KEY];
  project.provide('kubeconfig', stack.kubeconfig);
  project.provide('temporalAddress', stack.temporalAddress);
  project.provide('toolsBin', stack.toolsBin);
  project.provide('dataDir', stack.dataDir);
  return first ? () => stack.teardown() : undefined;
}
