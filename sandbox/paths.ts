/** Where the local stack keeps its data and finds its tools. */
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StackError } from './process.js';

export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));

/** The data folder of `npm start`: Temporal's SQLite file, the cluster, logs. */
export function dataDir(env: NodeJS.ProcessEnv = process.env): string {
  return resolve(env.BURST_DATA_DIR || resolve(REPO_ROOT, '.data'));
}

/**
 * The folder of the Go tools: BURST_TOOLS_BIN (set by sandbox/bootstrap.sh), else the
 * answer of sandbox/install-tools.sh (instant when the tools are cached; builds them otherwise).
 */
export function toolsBin(env: NodeJS.ProcessEnv = process.env): string {
  if (env.BURST_TOOLS_BIN) return env.BURST_TOOLS_BIN;
  try {
    const bin = execFileSync('bash', [resolve(REPO_ROOT, 'sandbox/install-tools.sh')], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'inherit'],
    }).trim();
    env.BURST_TOOLS_BIN = bin;
    return bin;
  } catch (err) {
    throw new StackError(
      `the sandbox tools are not available: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

export function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new StackError(`${name} must be a port number (1-65535), got "${raw}"`);
  return n;
}
