/**
 * Test support for the workflow suites: a test config, an in-process worker, and a
 * worker *process* (`node --import tsx worker/main.ts`) that a test can SIGKILL and
 * start again.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, type KubeConfig, type V1ConfigMap, Watch } from '@kubernetes/client-node';
import { Client, Connection } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger } from '@temporalio/worker';
import { SANDBOX_VM_ID_LABEL } from '../../activities/vm/sandbox-state.js';
import { type Config, parseConfig } from '../../core/config.js';
import { createWorker, type RunningWorker, type WorkerOptions } from '../../worker/worker.js';
import { dataDir, kubeconfigPath, temporalAddress, toolsBin, uniqueName } from './stack.js';

const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

type DeepPartial<T> = { [K in keyof T]?: T[K] extends object ? DeepPartial<T[K]> : T[K] };

function merge(base: Record<string, unknown>, over: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...base };
  for (const [k, v] of Object.entries(over)) {
    const b = out[k];
    out[k] =
      v && typeof v === 'object' && !Array.isArray(v) && b && typeof b === 'object' && !Array.isArray(b)
        ? merge(b as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/**
 * A config for one suite: the test cluster's kubeconfig, the sandbox provider with fast
 * boots in a namespace of its own (suites never see each other's VMs), a burst label of
 * its own (nor each other's burst nodes), short timeouts.
 */
export function testConfig(overrides: DeepPartial<Config> = {}): Config {
  const base = {
    kubernetes: { kubeconfig: kubeconfigPath() },
    provider: {
      type: 'sandbox',
      sandbox: {
        boot_seconds: 1,
        namespace: uniqueName('sandbox-vms'),
        poll_seconds: 0.5,
        node_gc_seconds: 0,
      },
    },
    burst_workers: {
      // A burst label value of the suite's own: burst nodes of other suites sharing the
      // cluster are never this suite's to count, reap or destroy.
      label: { key: 'worker-type', value: uniqueName('burst') },
      name_prefix: uniqueName('bw').slice(0, 11),
      registration_timeout_seconds: 60,
      launch_timeout_seconds: 60,
      orphan_vm_grace_seconds: 1,
      max_burst_workers: 50,
    },
    drain: { timeout_seconds: 20, grace_period_seconds: 0, eviction_retry_seconds: 1 },
    logging: { audit_file: '' },
    temporal: { address: temporalAddress() },
  };
  return parseConfig(JSON.stringify(merge(base, overrides as Record<string, unknown>)), {}, 'test config');
}

/** An in-process worker on a unique task queue (reaper schedule off unless asked). */
export async function startTestWorker(
  config: Config,
  opts: Partial<WorkerOptions> = {},
): Promise<RunningWorker> {
  const w = await createWorker({
    config,
    workflowBundlePath: await testWorkflowBundle(),
    taskQueue: opts.taskQueue ?? uniqueName('tq'),
    temporalAddress: temporalAddress(),
    dataDir: dataDir(),
    reaperSchedule: false,
    shutdownGraceTime: '2s',
    ...opts,
  });
  void w.run();
  return w;
}

export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves once the process logged `worker ready`. */
  ready: Promise<void>;
  exited: Promise<number | null>;
  output(): string;
  kill(signal?: NodeJS.Signals): Promise<number | null>;
}

/** Starts `node --import tsx worker/main.ts` with this config and task queue. */
export function spawnWorkerProcess(
  config: Config,
  taskQueue: string,
  opts: { activityDelaysMs?: Record<string, number>; env?: Record<string, string>; bundlePath?: string } = {},
): WorkerProcess {
  const dir = join(dataDir(), 'worker-process');
  mkdirSync(dir, { recursive: true });
  const configFile = join(dir, `${taskQueue}.json`);
  writeFileSync(
    configFile,
    JSON.stringify({ ...config, temporal: { ...config.temporal, task_queue: taskQueue } }),
  );
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      WORKER_CONFIG: configFile,
      BURST_DATA_DIR: dataDir(),
      TEMPORAL_ADDRESS: temporalAddress(),
      BURST_REAPER_SCHEDULE: 'off',
      ...(opts.bundlePath ? { BURST_WORKFLOW_BUNDLE: opts.bundlePath } : {}),
      ...(opts.activityDelaysMs
        ? { BURST_TEST_ACTIVITY_DELAYS_MS: JSON.stringify(opts.activityDelaysMs) }
        : {}),
      ...opts.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ready = new Promise<void>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('worker ready (task queue')) resolve();
    };
    child.stderr?.on('data', onData);
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
    });
    void exited.then((code) => reject(new Error(`worker process exited (${code}) before ready:\n${out}`)));
  });
  ready.catch(() => undefined);
  return {
    child,
    ready,
    exited,
    output: () => out,
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      if (child.exitCode === null && child.signalCode === null) child.kill(signal);
      return exited;
    },
  };
}

let bundlePromise: Promise<string> | undefined;

/**
 * The workflow bundle, built once per test run and shared by every suite (written
 * atomically into the run's data folder): workers then start in well under a second.
 */
export function testWorkflowBundle(): Promise<string> {
  bundlePromise ??= (async () => {
    const file = join(dataDir(), 'workflow-bundle.js');
    if (existsSync(file)) return file;
    const { code } = await bundleWorkflowCode({
      workflowsPath: join(REPO_ROOT, 'workflows/index.ts'),
      logger: new DefaultLogger('WARN'),
    });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, code);
    renameSync(tmp, file);
    return file;
  })();
  return bundlePromise;
}

export async function temporalClient(): Promise<{ client: Client; close(): Promise<void> }> {
  const connection = await Connection.connect({ address: temporalAddress() });
  return { client: new Client({ connection }), close: () => connection.close() };
}

/**
 * Records every sandbox VM ever created in a namespace (ConfigMap ADDED events, by VM
 * name → set of VM ids), through a real WATCH: "exactly one VM per worker ever existed".
 */
export async function recordVmHistory(
  kc: KubeConfig,
  namespace: string,
): Promise<{ ids: Map<string, Set<string>>; stop(): void }> {
  const core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } }).catch(() => undefined);
  const ids = new Map<string, Set<string>>();
  const add = (cm: V1ConfigMap) => {
    const id = cm.metadata?.labels?.[SANDBOX_VM_ID_LABEL];
    const name = cm.metadata?.name?.replace(/^vm-/, '') ?? '';
    if (!id) return;
    if (!ids.has(name)) ids.set(name, new Set());
    ids.get(name)?.add(id);
  };
  let stopped = false;
  let req: { abort(): void } | undefined;
  const start = async () => {
    const list = await core.listNamespacedConfigMap({ namespace });
    for (const cm of list.items) add(cm);
    req = await new Watch(kc).watch(
      `/api/v1/namespaces/${namespace}/configmaps`,
      { resourceVersion: list.metadata?.resourceVersion, allowWatchBookmarks: true },
      (type, obj: V1ConfigMap) => {
        if (type === 'ADDED' || type === 'MODIFIED') add(obj);
      },
      () => {
        if (!stopped) setTimeout(() => void start(), 200);
      },
    );
  };
  await start();
  return {
    ids,
    stop() {
      stopped = true;
      req?.abort();
    },
  };
}

export async function waitUntil<T>(
  what: string,
  fn: () => Promise<T | undefined | null | false>,
  timeoutMs = 60_000,
  intervalMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * With BURST_RECORD_HISTORIES=1, saves a finished run's history under
 * test/fixtures/histories/<name>.json (the replay suite's determinism guard).
 */
export async function saveHistory(_client: Client, id: string, name: string): Promise<void> {
  if (process.env.BURST_RECORD_HISTORIES !== '1') return;
  const dir = join(REPO_ROOT, 'test/fixtures/histories');
  mkdirSync(dir, { recursive: true });
  // The CLI writes the proto3 JSON that historyFromJSON reads (as the Temporal UI download).
  const out = execFileSync(
    join(toolsBin(), 'temporal'),
    ['workflow', 'show', '--address', temporalAddress(), '--workflow-id', id, '--output', 'json'],
    { maxBuffer: 64 * 1024 * 1024 },
  );
  writeFileSync(join(dir, `${name}.json`), out);
}
