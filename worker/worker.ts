/**
 * The worker: hosts the workflows and activities on one task queue, runs the sandbox
 * hypervisor when the provider is `sandbox`, and keeps the reaper's Schedule in place.
 * `createWorker` is used in-process by tests; `runWorker` runs until shutdown.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Client, Connection } from '@temporalio/client';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createActivities } from '../activities/index.js';
import { type KubeClients, loadKubeClients } from '../activities/kubernetes/index.js';
import { createVmProvider, startSandboxHypervisor } from '../activities/vm/index.js';
import type { VmProvider } from '../activities/vm/provider.js';
import type { Config } from '../core/config.js';
import { ensureReaperSchedule } from './schedule.js';

export interface WorkerOptions {
  config: Config;
  /** Defaults to config.temporal.* */
  taskQueue?: string;
  temporalAddress?: string;
  namespace?: string;
  /** Data folder (sandbox state, etc.). */
  dataDir?: string;
  env?: Record<string, string | undefined>;
  kube?: KubeClients;
  vms?: VmProvider;
  /** Run the sandbox hypervisor in this process (default: when provider.type is sandbox). */
  sandboxHypervisor?: boolean;
  /** Create/update the reaper Schedule (default true). Tests give their own id or false. */
  reaperSchedule?: false | { scheduleId?: string };
  /** Test hook: delay (ms) before named activities run. */
  activityDelaysMs?: Record<string, number>;
  /** Pre-built workflow bundle (production); defaults to dist/workflow-bundle.js when present. */
  workflowBundlePath?: string;
  /** How long in-flight tasks may run after shutdown is requested before activities are cancelled. */
  shutdownGraceTime?: string;
}

export interface RunningWorker {
  worker: Worker;
  client: Client;
  taskQueue: string;
  /** Resolves when the worker has stopped. */
  run(): Promise<void>;
  /** Graceful shutdown: stop polling, let in-flight tasks finish (or hand them back), close clients. */
  shutdown(): Promise<void>;
}

const here = fileURLToPath(new URL('.', import.meta.url));

/**
 * The production bundle (`npm run build`) when present and not older than the workflow
 * sources next to it: a stale bundle would run old workflow code.
 */
function defaultBundlePath(): string | undefined {
  const candidates = [`${here}../dist/workflow-bundle.js`, `${here}../workflow-bundle.js`];
  const bundle = candidates.find((p) => existsSync(p));
  if (bundle === undefined) return undefined;
  const dir = `${here}../workflows`;
  if (!existsSync(dir)) return bundle;
  const newest = Math.max(0, ...readdirSync(dir).map((f) => statSync(`${dir}/${f}`).mtimeMs));
  return statSync(bundle).mtimeMs >= newest ? bundle : undefined;
}

function workflowsPath(): string {
  const ts = `${here}../workflows/index.ts`;
  return existsSync(ts) ? ts : `${here}../workflows/index.js`;
}

export async function createWorker(opts: WorkerOptions): Promise<RunningWorker> {
  const { config } = opts;
  const env = opts.env ?? process.env;
  const address = opts.temporalAddress ?? config.temporal.address;
  const namespace = opts.namespace ?? config.temporal.namespace;
  const taskQueue = opts.taskQueue ?? config.temporal.task_queue;

  const kube = opts.kube ?? loadKubeClients(config, env);
  const vms = opts.vms ?? createVmProvider(config, { kube: kube.kc, dataDir: opts.dataDir, env });
  const clientConnection = await Connection.connect({ address });
  const client = new Client({ connection: clientConnection, namespace });
  const connection = await NativeConnection.connect({ address });

  const activities = createActivities({
    config,
    kube,
    vms,
    temporal: client,
    delaysMs: opts.activityDelaysMs,
  });
  const bundlePath = opts.workflowBundlePath ?? defaultBundlePath();
  const worker = await Worker.create({
    connection,
    namespace,
    taskQueue,
    activities,
    ...(bundlePath ? { workflowBundle: { codePath: bundlePath } } : { workflowsPath: workflowsPath() }),
    shutdownGraceTime: opts.shutdownGraceTime ?? '20s',
  });

  const hypervisor =
    (opts.sandboxHypervisor ?? config.provider.type === 'sandbox')
      ? startSandboxHypervisor(kube.kc, config, {
          onError: (err) =>
            process.stderr.write(`sandbox hypervisor: ${err instanceof Error ? err.message : String(err)}\n`),
        })
      : undefined;

  if (opts.reaperSchedule !== false) {
    await ensureReaperSchedule(client, {
      scheduleId: opts.reaperSchedule?.scheduleId,
      taskQueue,
      intervalSeconds: config.burst_workers.cleanup_interval_seconds,
    });
  }

  let closed = false;
  const closeAll = async () => {
    if (closed) return;
    closed = true;
    await hypervisor?.stop();
    await vms.close().catch(() => undefined);
    await connection.close().catch(() => undefined);
    await clientConnection.close().catch(() => undefined);
  };
  let running: Promise<void> | undefined;
  return {
    worker,
    client,
    taskQueue,
    run() {
      running ??= worker.run().finally(closeAll);
      return running;
    },
    async shutdown() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      if (running) await running;
      else await closeAll();
    },
  };
}

/** Creates the worker and runs it until it is shut down. */
export async function runWorker(opts: WorkerOptions): Promise<void> {
  const w = await createWorker(opts);
  await w.run();
}
