/**
 * `npm start`: the local stack on the embedded defaults.
 * Temporal dev server (SQLite under the data folder, UI), the sandbox kwok cluster
 * (seeded), the worker (sandbox VM provider) and the MCP server over Streamable HTTP
 * on loopback. Prints the MCP endpoint, the Temporal UI and the kubeconfig when
 * ready; Ctrl-C stops everything; the next start resumes with the same data.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Config, parseConfig } from '../core/config.js';
import { isWorkerError } from '../core/errors.js';
import { ensureCluster } from './cluster.js';
import { intFromEnv, REPO_ROOT, dataDir as resolveDataDir, toolsBin as resolveToolsBin } from './paths.js';
import { assertPortFree, type ManagedProcess, StackError, spawnManaged, waitFor } from './process.js';
import { seedCluster } from './seed.js';
import { startTemporal } from './temporal.js';

const CLUSTER_NAME = 'burst-sandbox';

function say(message: string): void {
  process.stderr.write(`[stack] ${message}\n`);
}

function loadConfig(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new StackError(
      `cannot read the config file ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}`,
    );
  }
  return parseConfig(text, process.env, path);
}

/** Starts a TypeScript entry point of this repo and waits for the line that says it is ready. */
async function startNodeProcess(opts: {
  name: string;
  entry: string;
  env: NodeJS.ProcessEnv;
  logFile: string;
  ready: RegExp;
  timeoutMs: number;
}): Promise<{ proc: ManagedProcess; line: string }> {
  let readyLine: string | undefined;
  const lastLines: string[] = [];
  const proc = spawnManaged({
    name: opts.name,
    command: process.execPath,
    args: ['--import', 'tsx', opts.entry],
    cwd: REPO_ROOT,
    env: opts.env,
    logFile: opts.logFile,
    onLine: (line) => {
      lastLines.push(line);
      if (lastLines.length > 5) lastLines.shift();
      if (!readyLine && opts.ready.test(line)) readyLine = line;
    },
  });
  let exited: string | undefined;
  void proc.exited.then((code) => {
    exited = `exited (${code}): ${lastLines.join(' | ')} (log: ${opts.logFile})`;
  });
  const line = await waitFor(`the ${opts.name}`, async () => readyLine, {
    timeoutMs: opts.timeoutMs,
    failed: () => exited,
  });
  return { proc, line };
}

async function main(): Promise<void> {
  const configPath = resolve(process.env.WORKER_CONFIG || join(REPO_ROOT, 'config/worker-config.yaml'));
  const config = loadConfig(configPath);
  const data = resolveDataDir();
  const bin = resolveToolsBin();
  const logs = join(data, 'logs');
  mkdirSync(logs, { recursive: true });

  const temporalPort = intFromEnv(process.env, 'TEMPORAL_PORT', 7233);
  const uiPort = intFromEnv(process.env, 'TEMPORAL_UI_PORT', 8233);
  const mcpPort = config.mcp.port;
  // Check every port before starting anything, so a conflict leaves nothing half-started.
  await assertPortFree(
    temporalPort,
    'Temporal frontend',
    'Is another `npm start` running? Stop it or set TEMPORAL_PORT.',
  );
  await assertPortFree(
    uiPort,
    'Temporal UI',
    'Is another `npm start` running? Stop it or set TEMPORAL_UI_PORT.',
  );
  if (mcpPort !== 0) {
    await assertPortFree(
      mcpPort,
      'MCP server',
      'Is another `npm start` running? Stop it or set MCP_PORT.',
      config.mcp.host,
    );
  }

  const stoppers: Array<{ name: string; stop: () => Promise<void> }> = [];
  let stopping = false;
  const shutdown = async (code: number) => {
    if (stopping) return;
    stopping = true;
    say('stopping…');
    for (const { name, stop } of stoppers.reverse()) {
      try {
        await stop();
      } catch (err) {
        say(`stopping ${name} failed: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    say('stopped');
    process.exit(code);
  };
  process.on('SIGINT', () => void shutdown(0));
  process.on('SIGTERM', () => void shutdown(0));

  try {
    say(`data folder: ${data}`);
    say('starting the Temporal dev server…');
    const temporal = await startTemporal({
      toolsBin: bin,
      dbFile: join(data, 'temporal.db'),
      logFile: join(logs, 'temporal.log'),
      port: temporalPort,
      uiPort,
    });
    stoppers.push({ name: 'temporal', stop: temporal.stop });

    say('starting the sandbox cluster (etcd, kube-apiserver, controller-manager, scheduler, kwok)…');
    const cluster = await ensureCluster({ name: CLUSTER_NAME, toolsBin: bin, workdir: join(data, 'kwok') });
    stoppers.push({ name: 'cluster', stop: cluster.stop });
    await seedCluster(bin, cluster.kubeconfigPath);

    const childEnv: NodeJS.ProcessEnv = {
      ...process.env,
      WORKER_CONFIG: configPath,
      KUBECONFIG: cluster.kubeconfigPath,
      TEMPORAL_ADDRESS: temporal.address,
      BURST_DATA_DIR: data,
      MCP_PORT: String(mcpPort),
    };
    say('starting the worker…');
    const worker = await startNodeProcess({
      name: 'worker',
      entry: 'worker/main.ts',
      env: childEnv,
      logFile: join(logs, 'worker.log'),
      ready: /worker ready/,
      timeoutMs: 120_000,
    });
    stoppers.push({ name: 'worker', stop: () => worker.proc.stop(30_000) });

    say('starting the MCP server…');
    const mcp = await startNodeProcess({
      name: 'MCP server',
      entry: 'mcp-server/main.ts',
      env: childEnv,
      logFile: join(logs, 'mcp-server.log'),
      ready: /MCP endpoint: \S+/,
      timeoutMs: 60_000,
    });
    stoppers.push({ name: 'mcp-server', stop: () => mcp.proc.stop() });

    const endpoint = /MCP endpoint: (\S+)/.exec(mcp.line)?.[1];
    process.stdout.write(
      `MCP endpoint: ${endpoint}\nTemporal UI: ${temporal.uiUrl}\nKubeconfig: ${cluster.kubeconfigPath}\n`,
    );
    say(`logs: ${logs}; press Ctrl-C to stop`);

    for (const p of [worker.proc, mcp.proc, temporal.process]) {
      void p.exited.then((code) => {
        if (stopping) return;
        say(`${p.name} exited unexpectedly (${code}); see ${p.logFile}`);
        void shutdown(1);
      });
    }
  } catch (err) {
    if (err instanceof StackError || isWorkerError(err)) say(`error: ${err.message}`);
    else say(`error: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    await shutdown(1);
  }
}

main().catch((err: unknown) => {
  const message =
    err instanceof StackError || isWorkerError(err)
      ? err.message
      : err instanceof Error
        ? (err.stack ?? err.message)
        : String(err);
  process.stderr.write(`[stack] error: ${message}\n`);
  process.exit(1);
});
