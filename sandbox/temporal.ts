/**
 * The Temporal CLI dev server (SQLite file, embedded UI) with the project's search
 * attributes registered.
 */
import { join } from 'node:path';
import { SEARCH_ATTRIBUTE_NAMES } from '../core/operations.js';
import {
  assertPortFree,
  isListening,
  type ManagedProcess,
  StackError,
  spawnManaged,
  waitFor,
} from './process.js';

export interface TemporalOptions {
  toolsBin: string;
  /** SQLite database file; reused by the next start (persistent history). */
  dbFile: string;
  logFile: string;
  port: number;
  uiPort: number;
  /** Set false to run without the UI (tests). */
  ui?: boolean;
}

export interface TemporalServer {
  address: string;
  uiUrl: string;
  process: ManagedProcess;
  stop(): Promise<void>;
}

export async function startTemporal(opts: TemporalOptions): Promise<TemporalServer> {
  const ui = opts.ui ?? true;
  await assertPortFree(
    opts.port,
    'Temporal frontend',
    'Stop the other Temporal server or set TEMPORAL_PORT.',
  );
  if (ui)
    await assertPortFree(
      opts.uiPort,
      'Temporal UI',
      'Stop the other Temporal server or set TEMPORAL_UI_PORT.',
    );
  const args = [
    'server',
    'start-dev',
    '--ip',
    '127.0.0.1',
    '--port',
    String(opts.port),
    '--db-filename',
    opts.dbFile,
    '--log-level',
    'warn',
    ...SEARCH_ATTRIBUTE_NAMES.flatMap((name) => ['--search-attribute', `${name}=Keyword`]),
  ];
  if (ui) args.push('--ui-ip', '127.0.0.1', '--ui-port', String(opts.uiPort));
  else args.push('--headless');
  const proc = spawnManaged({
    name: 'temporal',
    command: join(opts.toolsBin, 'temporal'),
    args,
    logFile: opts.logFile,
  });
  let exited: string | undefined;
  void proc.exited.then((code) => {
    exited = `the Temporal dev server exited (${code}); see ${opts.logFile}`;
  });
  try {
    await waitFor('the Temporal dev server', () => isListening(opts.port), {
      timeoutMs: 60_000,
      failed: () => exited,
    });
    if (ui)
      await waitFor('the Temporal UI', () => isListening(opts.uiPort), {
        timeoutMs: 30_000,
        failed: () => exited,
      });
  } catch (err) {
    await proc.stop();
    throw err instanceof StackError ? err : new StackError(String(err));
  }
  return {
    address: `127.0.0.1:${opts.port}`,
    uiUrl: `http://127.0.0.1:${opts.uiPort}`,
    process: proc,
    stop: () => proc.stop(15_000),
  };
}
