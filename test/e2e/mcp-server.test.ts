/**
 * The MCP server end to end against the running stack (real Temporal dev server, real
 * kube-apiserver + kwok, the sandbox VM provider, a worker on a unique task queue):
 * a real SDK Client over stdio (through the package bin) and over Streamable HTTP lists
 * the tools and drives provision → get_operation → drain → destroy of a burst worker to
 * the end; the MCP Inspector CLI lists the tools and calls list_workers; HTTP auth and
 * Origin checks; a permanent worker cannot be destroyed.
 */
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreV1Api, PolicyV1Api } from '@kubernetes/client-node';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Config } from '../../core/config.js';
import { ErrorCode } from '../../core/errors.js';
import { TOOL_NAMES } from '../../mcp-server/tools/index.js';
import type { RunningWorker } from '../../worker/worker.js';
import {
  callTool,
  errorOf,
  type HttpServerProcess,
  httpClient,
  REPO_ROOT,
  startHttpMcpServer,
  stdioClient,
  structured,
  writeMcpConfig,
} from '../support/e2e-stack.js';
import { kubeConfig, uniqueName } from '../support/stack.js';
import { startTestWorker, testConfig } from '../support/worker-process.js';

const run = promisify(execFile);

interface OperationOut {
  operation: { execution_status: string; phase: string | null; error?: { code: string; message: string } };
}

async function waitForOperation(
  client: Client,
  id: string,
  timeoutMs = 150_000,
): Promise<OperationOut['operation']> {
  const deadline = Date.now() + timeoutMs;
  let last: OperationOut['operation'] | undefined;
  while (Date.now() < deadline) {
    last = structured<OperationOut>(await callTool(client, 'get_operation', { operation_id: id })).operation;
    if (last.execution_status !== 'running') return last;
    await new Promise((r) => setTimeout(r, 1000));
  }
  throw new Error(`operation ${id} still running: ${JSON.stringify(last)}`);
}

/** provision → get_operation → drain → destroy of one burst worker, through one client. */
async function lifecycle(client: Client): Promise<void> {
  const { tools } = await client.listTools();
  expect(tools.map((t) => t.name)).toEqual([...TOOL_NAMES]);
  for (const t of tools) {
    expect(t.inputSchema.type).toBe('object');
    expect(t.outputSchema?.type).toBe('object');
    expect(typeof t.annotations?.readOnlyHint).toBe('boolean');
    expect(typeof t.annotations?.destructiveHint).toBe('boolean');
  }
  expect(tools.find((t) => t.name === 'destroy_worker')?.annotations).toMatchObject({
    readOnlyHint: false,
    destructiveHint: true,
  });

  const provisioned = structured<{ operation_id: string; workers: Array<{ name: string; ui_url: string }> }>(
    await callTool(client, 'provision_workers', { count: 1, ttl: 1, size: 'small' }),
  );
  expect(provisioned.workers).toHaveLength(1);
  const name = provisioned.workers[0]!.name;
  expect(provisioned.workers[0]!.ui_url).toContain('/namespaces/default/workflows/');
  const done = await waitForOperation(client, provisioned.operation_id);
  expect(done.execution_status).toBe('completed');

  const listed = structured<{ workers: Array<{ name: string; type: string }> }>(
    await callTool(client, 'list_workers', { type_filter: 'burst' }),
  );
  expect(listed.workers.find((w) => w.name === name)?.type).toBe('burst');

  const drain = structured<{ operation_id: string }>(
    await callTool(client, 'drain_worker', { worker_id: name }),
  );
  expect(drain.operation_id).toBe(`drain:${name}`);
  expect((await waitForOperation(client, drain.operation_id)).execution_status).toBe('completed');

  const destroy = structured<{ operation_id: string }>(
    await callTool(client, 'destroy_worker', { worker_id: name }),
  );
  expect(destroy.operation_id).toBe(`destroy:${name}`);
  expect((await waitForOperation(client, destroy.operation_id)).execution_status).toBe('completed');

  const after = structured<{ workers: Array<{ name: string }> }>(await callTool(client, 'list_workers', {}));
  expect(after.workers.map((w) => w.name)).not.toContain(name);
  const missing = await callTool(client, 'get_worker_details', { worker_id: name });
  expect(errorOf(missing)?.code).toBe(ErrorCode.WorkerNotFound);
}

describe('MCP server end to end', () => {
  let config: Config;
  let worker: RunningWorker;
  let configFile: string;
  let http: HttpServerProcess;

  beforeAll(async () => {
    const taskQueue = uniqueName('mcp-e2e');
    config = testConfig({ temporal: { task_queue: taskQueue } });
    worker = await startTestWorker(config, { taskQueue });
    configFile = writeMcpConfig(config);
    http = await startHttpMcpServer(configFile);
  });

  afterAll(async () => {
    await http?.stop();
    await worker?.shutdown();
  });

  it('over Streamable HTTP: lists the tools and drives provision → drain → destroy to the end', async () => {
    const client = await httpClient(http.url);
    try {
      await lifecycle(client);
    } finally {
      await client.close();
    }
  });

  it('over stdio through the package bin: the same lifecycle', async () => {
    const { client, stderr } = await stdioClient(configFile);
    try {
      await lifecycle(client);
    } catch (err) {
      throw new Error(`${String(err)}\nserver stderr:\n${stderr()}`);
    } finally {
      await client.close();
    }
  });

  it('the MCP Inspector CLI lists the tools and calls list_workers over HTTP', async () => {
    const bin = join(REPO_ROOT, 'node_modules/.bin/mcp-inspector-cli');
    // inspector-cli 1.0.3 checks `../package.json` relative to the cwd but imports it relative
    // to itself: run it from a folder whose parent holds a package.json.
    const cwd = join(REPO_ROOT, 'test');
    const list = await run(bin, ['--cli', http.url, '--transport', 'http', '--method', 'tools/list'], {
      cwd,
      timeout: 120_000,
    });
    const tools = (JSON.parse(list.stdout) as { tools: Array<{ name: string }> }).tools.map((t) => t.name);
    expect(tools).toEqual([...TOOL_NAMES]);
    const call = await run(
      bin,
      [
        '--cli',
        http.url,
        '--transport',
        'http',
        '--method',
        'tools/call',
        '--tool-name',
        'list_workers',
        '--tool-arg',
        'type_filter=all',
      ],
      { cwd, timeout: 120_000 },
    );
    const result = JSON.parse(call.stdout) as { isError?: boolean; structuredContent: { count: number } };
    expect(result.isError).toBeFalsy();
    expect(result.structuredContent.count).toBeGreaterThanOrEqual(0);
  });

  it('refuses to destroy a permanent worker, naming the rule', async () => {
    const core = kubeConfig().makeApiClient(CoreV1Api);
    const name = uniqueName('perm-node');
    await core.createNode({ body: { metadata: { name, labels: { 'worker-type': 'burst' } } } });
    const client = await httpClient(http.url);
    try {
      const r = await callTool(client, 'destroy_worker', { worker_id: name, force: true });
      expect(r.isError).toBe(true);
      expect(errorOf(r)).toMatchObject({ code: ErrorCode.PermanentWorker, rule: 'permanent_worker' });
      const ops = structured<{ count: number }>(await callTool(client, 'list_operations', { worker: name }));
      expect(ops.count).toBe(0);
    } finally {
      await client.close();
      await core.deleteNode({ name }).catch(() => undefined);
    }
  });

  it('a second drain while one runs returns the running operation id; cancel, then a forced destroy needs the dry-run token', async () => {
    const client = await httpClient(http.url);
    const kc = kubeConfig();
    const core = kc.makeApiClient(CoreV1Api);
    const policy = kc.makeApiClient(PolicyV1Api);
    const namespace = uniqueName('mcp-e2e');
    await core.createNamespace({ body: { metadata: { name: namespace } } });
    try {
      const p = structured<{ operation_id: string; workers: Array<{ name: string }> }>(
        await callTool(client, 'provision_workers', { count: 1, ttl: 1, size: 'small' }),
      );
      const name = p.workers[0]!.name;
      expect((await waitForOperation(client, p.operation_id)).execution_status).toBe('completed');
      // A pod no PodDisruptionBudget lets go: the drain waits for its deadline.
      await core.createNamespacedPod({
        namespace,
        body: {
          metadata: { name: 'held', labels: { app: 'held' } },
          spec: { nodeName: name, containers: [{ name: 'c', image: 'busybox' }] },
        },
      });
      await policy.createNamespacedPodDisruptionBudget({
        namespace,
        body: {
          metadata: { name: 'hold' },
          spec: { maxUnavailable: 0, selector: { matchLabels: { app: 'held' } } },
        },
      });
      const args = { worker_id: name, force: true, timeout_seconds: 300 };
      const first = structured<{ operation_id: string }>(await callTool(client, 'drain_worker', args));
      const second = await callTool(client, 'drain_worker', args);
      expect(errorOf(second)).toMatchObject({
        code: ErrorCode.OperationInProgress,
        operation_id: first.operation_id,
      });

      const cancelled = structured<{ cancel_requested: boolean }>(
        await callTool(client, 'cancel_operation', { operation_id: first.operation_id }),
      );
      expect(cancelled.cancel_requested).toBe(true);
      expect((await waitForOperation(client, first.operation_id)).execution_status).toBe('cancelled');

      // force=true needs confirmation; this client cannot elicit, so it needs the dry-run token.
      const refused = await callTool(client, 'destroy_worker', { worker_id: name, force: true });
      expect(errorOf(refused)?.code).toBe(ErrorCode.ConfirmationRequired);
      expect(
        structured<{ count: number }>(
          await callTool(client, 'list_operations', { worker: name, type: 'destroy' }),
        ).count,
      ).toBe(0);
      const dry = structured<{ confirmation_token: string }>(
        await callTool(client, 'destroy_worker', { worker_id: name, force: true, dry_run: true }),
      );
      const destroy = structured<{ operation_id: string }>(
        await callTool(client, 'destroy_worker', {
          worker_id: name,
          force: true,
          confirmation_token: dry.confirmation_token,
        }),
      );
      await policy.deleteNamespacedPodDisruptionBudget({ name: 'hold', namespace });
      expect((await waitForOperation(client, destroy.operation_id)).execution_status).toBe('completed');
    } finally {
      await client.close();
      await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    }
  });

  describe('with a bearer token configured', () => {
    const token = `t-${uniqueName('secret')}`;
    let secured: HttpServerProcess;
    beforeAll(async () => {
      secured = await startHttpMcpServer(writeMcpConfig(config), { MCP_AUTH_TOKEN: token });
    });
    afterAll(async () => {
      await secured?.stop();
    });

    const initialize = (headers: Record<string, string>) =>
      fetch(secured.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          accept: 'application/json, text/event-stream',
          ...headers,
        },
        body: JSON.stringify({
          jsonrpc: '2.0',
          id: 1,
          method: 'initialize',
          params: {
            protocolVersion: '2025-06-18',
            capabilities: {},
            clientInfo: { name: 'raw', version: '1' },
          },
        }),
      });

    it('answers 401 with WWW-Authenticate without a token or with a wrong one', async () => {
      const none = await initialize({});
      expect(none.status).toBe(401);
      expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);
      const wrong = await initialize({ authorization: 'Bearer nope' });
      expect(wrong.status).toBe(401);
      const client = await httpClient(secured.url, token);
      const r = structured<{ count: number }>(await callTool(client, 'list_workers', {}));
      expect(r.count).toBeGreaterThanOrEqual(0);
      await client.close();
      expect(secured.output()).not.toContain(token);
    });

    it('refuses a foreign Origin and a foreign Host even with the token', async () => {
      const origin = await initialize({ authorization: `Bearer ${token}`, origin: 'http://evil.example' });
      expect(origin.status).toBe(403);
      const local = await initialize({ authorization: `Bearer ${token}`, origin: 'http://localhost:3000' });
      expect(local.status).toBe(200);
      const u = new URL(secured.url);
      const status = await new Promise<number | undefined>((resolve, reject) => {
        const req = request(
          {
            host: u.hostname,
            port: u.port,
            path: u.pathname,
            method: 'POST',
            headers: {
              host: `evil.example:${u.port}`,
              authorization: `Bearer ${token}`,
              'content-type': 'application/json',
            },
          },
          (res) => {
            res.resume();
            resolve(res.statusCode);
          },
        );
        req.on('error', reject);
        req.end('{}');
      });
      expect(status).toBe(403);
    });
  });
});
