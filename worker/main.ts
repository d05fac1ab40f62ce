/**
 * The worker process: `node --import tsx worker/main.ts` (or dist/worker/main.js).
 * Config from $WORKER_CONFIG (default config/worker-config.yaml), data folder from
 * $BURST_DATA_DIR (default .data). Logs `worker ready (task queue X)` on stderr when
 * polling; SIGTERM/SIGINT shut it down gracefully.
 */
import { readFileSync } from 'node:fs';
import { Runtime } from '@temporalio/worker';
import { parseConfig } from '../core/config.js';
import { createWorker } from './worker.js';

async function main(): Promise<void> {
  const configPath = process.env.WORKER_CONFIG || 'config/worker-config.yaml';
  const dataDir = process.env.BURST_DATA_DIR || '.data';
  const config = parseConfig(readFileSync(configPath, 'utf8'), process.env, configPath);
  if (config.monitoring.enabled) {
    Runtime.install({
      telemetryOptions: {
        metrics: { prometheus: { bindAddress: config.monitoring.prometheus_bind_address } },
      },
    });
  }
  const delays = process.env.BURST_TEST_ACTIVITY_DELAYS_MS;
  const w = await createWorker({
    config,
    dataDir,
    env: process.env,
    workflowBundlePath: process.env.BURST_WORKFLOW_BUNDLE || undefined,
    activityDelaysMs: delays ? (JSON.parse(delays) as Record<string, number>) : undefined,
    reaperSchedule:
      process.env.BURST_REAPER_SCHEDULE === 'off'
        ? false
        : { scheduleId: process.env.BURST_REAPER_SCHEDULE_ID || undefined },
  });
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`worker: ${signal} received, shutting down\n`);
    void w.shutdown();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  const running = w.run();
  await waitUntilRunning(w.worker);
  process.stderr.write(`worker ready (task queue ${w.taskQueue})\n`);
  await running;
  process.stderr.write('worker stopped\n');
}

async function waitUntilRunning(worker: { getState(): string }): Promise<void> {
  while (worker.getState() === 'INITIALIZED') await new Promise((r) => setTimeout(r, 50));
}

main().catch((err: unknown) => {
  process.stderr.write(`worker failed: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
