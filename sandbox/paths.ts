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

/** The folder of the Go tools, set by sandbox/bootstrap.sh. */
export function toolsBin(env: NodeJS.ProcessEnv = process.env): string {
  const bin = env.BURST_TOOLS_BIN;
  if (!bin) {
    throw new StackError(
      'BURST_TOOLS_BIN is not set: run through `npm start` / `npm test` (sandbox/bootstrap.sh), which builds the tools',
    );
  }
  return bin;
}

export function intFromEnv(env: NodeJS.ProcessEnv, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 65535)
    throw new StackError(`${name} must be a port number (1-65535), got "${raw}"`);
  return n;
}
