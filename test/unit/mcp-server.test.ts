/**
 * The MCP server in-process (real SDK Client over InMemoryTransport) with a fixed
 * inventory and a recording Operations: tool list and annotations, modes, validation
 * (property-based), safety refusals, confirmation, limits, audit, progress.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { type CallToolResult, ElicitRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type Config, parseConfig } from '../../core/config.js';
import { ErrorCode } from '../../core/errors.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, VM_ID_ANNOTATION } from '../../core/labels.js';
import type { ProvisionedWorker } from '../../core/operations.js';
import { memoryAuditLog } from '../../mcp-server/audit.js';
import { createConfirmationTokens } from '../../mcp-server/confirmation.js';
import type { ServerDeps } from '../../mcp-server/deps.js';
import type { Inventory, WorkerDetails } from '../../mcp-server/inventory.js';
import type { Operations, OperationView } from '../../mcp-server/operations.js';
import { createProvisionLimiter } from '../../mcp-server/rate-limit.js';
import { createServer } from '../../mcp-server/server.js';
import { toolErrorOf } from '../../mcp-server/tool-result.js';
import { TOOL_NAMES } from '../../mcp-server/tools/index.js';

function worker(
  name: string,
  opts: { burst?: boolean; cordoned?: boolean; pods?: number } = {},
): WorkerDetails {
  const burst = opts.burst ?? true;
  return {
    name,
    type: burst ? 'burst' : 'permanent',
    status: opts.cordoned ? 'cordoned' : 'ready',
    ready: true,
    unschedulable: opts.cordoned ?? false,
    capacity: { cpu: '4', memory: '8Gi', pods: '110' },
    allocatable: { cpu: '4', memory: '8Gi', pods: '110' },
    podsRunning: opts.pods ?? 0,
    requested: { cpuMillis: 0, memoryBytes: 0 },
    ttl: null,
    vmId: burst ? 'vm-1' : null,
    providerId: null,
    createdAt: '2026-01-01T00:00:00.000Z',
    ageSeconds: 10,
    labels: burst ? { 'worker-type': 'burst', [MANAGED_BY_LABEL]: MANAGED_BY_VALUE } : {},
    annotations: burst ? { [VM_ID_ANNOTATION]: 'vm-1' } : {},
    protected: false,
    uid: `uid-${name}`,
    taints: [],
    conditions: [{ type: 'Ready', status: 'True' }],
    addresses: [],
    pods: Array.from({ length: opts.pods ?? 0 }, (_, i) => ({
      namespace: 'default',
      name: `p${i}`,
      phase: 'Running',
      owner: 'ReplicaSet/web',
    })),
  };
}

interface Recorder {
  starts: Array<{ kind: string; input: unknown }>;
}

function fakeOperations(rec: Recorder, provisioned: () => ProvisionedWorker[]): Operations {
  const view = (id: string): OperationView => ({
    operation_id: id,
    run_id: 'r',
    workflow_type: 'drainWorker',
    type: 'drain',
    worker: null,
    execution_status: 'running',
    phase: 'evicting',
    started_at: '2026-01-01T00:00:00.000Z',
    closed_at: null,
    ui_url: `http://ui/${id}`,
  });
  return {
    uiUrl: (id) => `http://ui/${id}`,
    async startProvision(input) {
      rec.starts.push({ kind: 'provision', input });
      return {
        operationId: `provision:${input.idempotencyKey}`,
        runId: 'r',
        uiUrl: 'http://ui/p',
        existing: false,
      };
    },
    findProvision: async (key) =>
      key === 'seen' ? { operationId: 'provision:seen', runId: 'r', uiUrl: 'http://ui/seen' } : null,
    async provisionStatus() {
      return {
        operationId: 'p',
        type: 'provision',
        phase: 'x',
        steps: [],
        startedAt: '',
        updatedAt: '',
        workers: provisioned(),
      };
    },
    async startDrain(input) {
      rec.starts.push({ kind: 'drain', input });
      return { operationId: `drain:${input.worker}`, runId: 'r', uiUrl: 'http://ui/d' };
    },
    async startDestroy(input) {
      rec.starts.push({ kind: 'destroy', input });
      return { operationId: `destroy:${input.worker}`, runId: 'r', uiUrl: 'http://ui/x' };
    },
    get: async (id) => view(id),
    list: async () => [],
    async cancel(id) {
      rec.starts.push({ kind: 'cancel', input: id });
      return view(id);
    },
    async extendTtl(w, hours) {
      rec.starts.push({ kind: 'extend', input: { w, hours } });
      return { worker: w, expiresAt: '2026-01-02T00:00:00.000Z' };
    },
    burstWorkerStartsSince: async () => [],
    liveBurstWorkers: async () => [],
    close: async () => undefined,
  };
}

function setup(
  opts: {
    config?: string;
    workers?: WorkerDetails[];
    provisioned?: ProvisionedWorker[];
    elicit?: 'accept' | 'decline';
    starts?: number[];
  } = {},
) {
  const config: Config = parseConfig(opts.config ?? '');
  const workers = new Map((opts.workers ?? []).map((w) => [w.name, w]));
  const inventory: Inventory = {
    listWorkers: async (type) => [...workers.values()].filter((w) => type === 'all' || w.type === type),
    async getWorker(name) {
      const w = workers.get(name);
      if (!w) {
        const { WorkerError } = await import('../../core/errors.js');
        throw new WorkerError(ErrorCode.WorkerNotFound, `worker "${name}" does not exist`);
      }
      return w;
    },
    planDrain: async (name) => ({
      worker: name,
      unschedulable: false,
      entries: [
        {
          namespace: 'demo',
          name: `${name}-web`,
          uid: 'u-1',
          action: 'evict',
          reason: 'evictable',
          message: 'evicted through the Eviction API',
          owner: 'ReplicaSet/web',
        },
      ],
      refused: false,
      counts: { evict: 1, skip: 0, blocked: 0 },
    }),
  };
  const rec: Recorder = { starts: [] };
  const audit = memoryAuditLog();
  const operations = fakeOperations(rec, () => opts.provisioned ?? []);
  const deps: ServerDeps = {
    config,
    inventory,
    operations,
    audit,
    limiter: createProvisionLimiter(config.burst_workers, {
      activeBurstWorkers: async () =>
        [...workers.values()].filter((w) => w.type === 'burst').map((w) => w.name),
      startsSince: async () => opts.starts ?? [],
    }),
    confirmations: createConfirmationTokens({ ttlSeconds: 60 }),
    transportName: 'test',
  };
  const connect = async () => {
    const { server } = createServer(deps);
    const client = new Client(
      { name: 'unit', version: '1' },
      { capabilities: opts.elicit ? { elicitation: { form: {} } } : {} },
    );
    if (opts.elicit) {
      client.setRequestHandler(ElicitRequestSchema, async () =>
        opts.elicit === 'accept' ? { action: 'accept', content: { confirm: true } } : { action: 'decline' },
      );
    }
    const [a, b] = InMemoryTransport.createLinkedPair();
    await Promise.all([server.connect(a), client.connect(b)]);
    return client;
  };
  return { rec, audit, connect, config };
}

async function call(client: Client, name: string, args: Record<string, unknown>): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args })) as CallToolResult;
}

function errorCode(r: CallToolResult): string | undefined {
  return toolErrorOf(r)?.code;
}

const MUTATING = [
  'provision_workers',
  'drain_worker',
  'destroy_worker',
  'cancel_operation',
  'extend_worker_ttl',
];
const DESTRUCTIVE = ['drain_worker', 'destroy_worker', 'cancel_operation'];

describe('mcp server tools', () => {
  it('lists exactly the tools with input and output schemas and honest annotations', async () => {
    const client = await setup().connect();
    const { tools } = await client.listTools();
    expect(tools.map((t) => t.name)).toEqual([...TOOL_NAMES]);
    for (const t of tools) {
      expect(t.inputSchema.type).toBe('object');
      expect(t.outputSchema?.type).toBe('object');
      expect(t.title).toBeTruthy();
      const a = t.annotations!;
      expect(a.readOnlyHint).toBe(!MUTATING.includes(t.name));
      expect(a.destructiveHint).toBe(DESTRUCTIVE.includes(t.name));
      expect(typeof a.idempotentHint).toBe('boolean');
      expect(typeof a.openWorldHint).toBe('boolean');
    }
    const provision = tools.find((t) => t.name === 'provision_workers')!;
    expect(provision.inputSchema.required).toEqual(['count']);
    expect(Object.keys(provision.inputSchema.properties ?? {})).toEqual(
      expect.arrayContaining(['count', 'ttl', 'size', 'idempotency_key', 'wait_seconds']),
    );
  });

  it('read-only mode neither lists nor runs any mutating tool', async () => {
    const s = setup({ config: 'safety: { read_only: true }', workers: [worker('bw-1', { cordoned: true })] });
    const client = await s.connect();
    const listed = (await client.listTools()).tools.map((t) => t.name);
    expect(listed.sort()).toEqual(TOOL_NAMES.filter((n) => !MUTATING.includes(n)).sort());
    const args: Record<string, Record<string, unknown>> = {
      provision_workers: { count: 1, ttl: 2, size: 'small' },
      drain_worker: { worker_id: 'bw-1' },
      destroy_worker: { worker_id: 'bw-1' },
      cancel_operation: { operation_id: 'drain:bw-1' },
      extend_worker_ttl: { worker_id: 'bw-1', hours: 1 },
    };
    for (const name of MUTATING) {
      const r = await call(client, name, args[name]!);
      expect(r.isError, name).toBe(true);
      expect(errorCode(r), name).toBe(ErrorCode.ModeForbidden);
      expect((r.content[0] as { text: string }).text).toContain('read_only');
    }
    expect(s.rec.starts).toEqual([]);
    expect(s.audit.entries.map((e) => e.tool).sort()).toEqual([...MUTATING].sort());
    // What a drain would do stays visible: it only reads.
    const details = await call(client, 'get_worker_details', { worker_id: 'bw-1', include_drain_plan: true });
    expect(details.isError).toBeFalsy();
    expect(details.structuredContent).toMatchObject({
      drain_plan: { refused: false, counts: { evict: 1 }, entries: [{ name: 'bw-1-web', action: 'evict' }] },
    });
    expect((details.content[0] as { text: string }).text).toContain('evict demo/bw-1-web');
    const plain = await call(client, 'get_worker_details', { worker_id: 'bw-1' });
    expect(plain.structuredContent).not.toHaveProperty('drain_plan');
    expect(s.rec.starts).toEqual([]);
  });

  it('allow_destructive=false hides and refuses the destructive tools only', async () => {
    const s = setup({ config: 'safety: { allow_destructive: false }', workers: [worker('bw-1')] });
    const client = await s.connect();
    const listed = (await client.listTools()).tools.map((t) => t.name);
    expect(listed.sort()).toEqual(TOOL_NAMES.filter((n) => !DESTRUCTIVE.includes(n)).sort());
    const r = await call(client, 'drain_worker', { worker_id: 'bw-1' });
    expect(errorCode(r)).toBe(ErrorCode.ModeForbidden);
    expect(s.rec.starts).toEqual([]);
  });

  it('bad inputs get ValidationFailed naming the field and start nothing (property-based)', async () => {
    const s = setup({ workers: [worker('bw-1', { cordoned: true })] });
    const client = await s.connect();
    const badWorkerId = fc.oneof(
      fc.constantFrom('../etc/passwd', 'a/b', 'app=web', 'x,y', 'Bad', '', '-a', 'a b', 'a;b', 'a*'),
      fc.string({ minLength: 254, maxLength: 5000 }),
      fc.string().filter((x) => !/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(x)),
      fc.integer(),
      fc.constant(null),
      fc.array(fc.string(), { maxLength: 2 }),
    );
    const badCount = fc.oneof(
      fc.integer({ max: 0 }),
      fc.integer({ min: 11 }),
      fc.double({ min: 1.01, max: 9.99, noNaN: true }).filter((d) => !Number.isInteger(d)),
      fc.string(),
      fc.constant(null),
    );
    const badTtl = fc.oneof(fc.integer({ max: 0 }), fc.integer({ min: 169 }), fc.string(), fc.boolean());
    const badSize = fc.string({ maxLength: 3000 }).filter((x) => !['small', 'medium', 'large'].includes(x));
    const cases = fc.oneof(
      badWorkerId.map((v) => ({ tool: 'destroy_worker', args: { worker_id: v }, field: 'worker_id' })),
      badWorkerId.map((v) => ({ tool: 'drain_worker', args: { worker_id: v }, field: 'worker_id' })),
      badWorkerId.map((v) => ({ tool: 'get_worker_details', args: { worker_id: v }, field: 'worker_id' })),
      badWorkerId.map((v) => ({
        tool: 'extend_worker_ttl',
        args: { worker_id: v, hours: 1 },
        field: 'worker_id',
      })),
      badCount.map((v) => ({
        tool: 'provision_workers',
        args: { count: v, ttl: 2, size: 'small' },
        field: 'count',
      })),
      badTtl.map((v) => ({
        tool: 'provision_workers',
        args: { count: 1, ttl: v, size: 'small' },
        field: 'ttl',
      })),
      badSize.map((v) => ({ tool: 'provision_workers', args: { count: 1, ttl: 2, size: v }, field: 'size' })),
      fc.oneof(fc.integer({ max: -1 }), fc.integer({ min: 86401 }), fc.string()).map((v) => ({
        tool: 'drain_worker',
        args: { worker_id: 'bw-1', timeout_seconds: v },
        field: 'timeout_seconds',
      })),
      fc
        .string({ minLength: 1, maxLength: 20 })
        .filter((k) => !['count', 'ttl', 'size', 'idempotency_key', 'wait_seconds'].includes(k))
        .map((k) => ({ tool: 'provision_workers', args: { count: 1, [k]: 1 }, field: '' })),
    );
    await fc.assert(
      fc.asyncProperty(cases, async ({ tool, args, field }) => {
        const r = await call(client, tool, args);
        expect(r.isError).toBe(true);
        expect(errorCode(r)).toBe(ErrorCode.ValidationFailed);
        const text = (r.content[0] as { text: string }).text;
        expect(text.startsWith('ValidationFailed: ')).toBe(true);
        if (field) expect(text).toContain(`${field}:`);
        expect(text.length).toBeLessThan(2000);
      }),
      { numRuns: 150 },
    );
    expect(s.rec.starts).toEqual([]);
  });

  it('refuses to destroy a permanent worker, naming the rule, and an unknown worker says so', async () => {
    const s = setup({
      workers: [
        worker('node-a', { burst: false, cordoned: true }),
        worker('permanent-1', { cordoned: true }),
        worker('bw-2'),
      ],
    });
    const client = await s.connect();
    const perm = await call(client, 'destroy_worker', { worker_id: 'node-a', force: true });
    expect(errorCode(perm)).toBe(ErrorCode.PermanentWorker);
    expect(toolErrorOf(perm)?.rule).toBe('permanent_worker');
    const prot = await call(client, 'destroy_worker', { worker_id: 'permanent-1' });
    expect(errorCode(prot)).toBe(ErrorCode.ProtectedWorker);
    const notDrained = await call(client, 'destroy_worker', { worker_id: 'bw-2' });
    expect(errorCode(notDrained)).toBe(ErrorCode.NotDrained);
    const drainPerm = await call(client, 'drain_worker', { worker_id: 'node-a' });
    expect(errorCode(drainPerm)).toBe(ErrorCode.PermanentWorker);
    const missing = await call(client, 'destroy_worker', { worker_id: 'nope' });
    expect(errorCode(missing)).toBe(ErrorCode.WorkerNotFound);
    expect(s.rec.starts).toEqual([]);
  });

  it('destroy of a worker with pods needs a dry-run token without elicitation; the token is single-use and bound', async () => {
    const s = setup({
      workers: [worker('bw-1', { cordoned: true, pods: 2 }), worker('bw-2', { cordoned: true, pods: 1 })],
    });
    const client = await s.connect();
    const refused = await call(client, 'destroy_worker', { worker_id: 'bw-1' });
    expect(errorCode(refused)).toBe(ErrorCode.ConfirmationRequired);
    const dry = await call(client, 'destroy_worker', { worker_id: 'bw-1', dry_run: true });
    const token = (dry.structuredContent as { confirmation_token: string }).confirmation_token;
    expect(token).toBeTruthy();
    expect(s.rec.starts).toEqual([]);
    const other = await call(client, 'destroy_worker', { worker_id: 'bw-2', confirmation_token: token });
    expect(errorCode(other)).toBe(ErrorCode.ConfirmationRequired);
    const forced = await call(client, 'destroy_worker', {
      worker_id: 'bw-1',
      force: true,
      confirmation_token: token,
    });
    expect(errorCode(forced)).toBe(ErrorCode.ConfirmationRequired);
    const ok = await call(client, 'destroy_worker', { worker_id: 'bw-1', confirmation_token: token });
    expect(ok.isError).toBeFalsy();
    expect((ok.structuredContent as { operation_id: string }).operation_id).toBe('destroy:bw-1');
    const again = await call(client, 'destroy_worker', { worker_id: 'bw-1', confirmation_token: token });
    expect(errorCode(again)).toBe(ErrorCode.ConfirmationRequired);
    expect(s.rec.starts.map((x) => x.kind)).toEqual(['destroy']);
    const line = JSON.stringify(s.audit.entries);
    expect(line).not.toContain(token);
    expect(line).toContain('[redacted]');
  });

  it('uses elicitation when the client supports it', async () => {
    const yes = setup({ workers: [worker('bw-1', { cordoned: true, pods: 1 })], elicit: 'accept' });
    const r1 = await call(await yes.connect(), 'destroy_worker', { worker_id: 'bw-1' });
    expect(r1.isError).toBeFalsy();
    expect(yes.rec.starts.map((x) => x.kind)).toEqual(['destroy']);
    const no = setup({ workers: [worker('bw-1', { cordoned: true, pods: 1 })], elicit: 'decline' });
    const r2 = await call(await no.connect(), 'destroy_worker', { worker_id: 'bw-1' });
    expect(errorCode(r2)).toBe(ErrorCode.ConfirmationRequired);
    expect(no.rec.starts).toEqual([]);
  });

  it('rate limits refuse with the rule and when it is allowed again', async () => {
    const full = setup({
      config: 'burst_workers: { max_burst_workers: 2 }',
      workers: [worker('bw-1'), worker('bw-2')],
      provisioned: [{ name: 'bw-2', workflowId: 'burst-worker:bw-2', outcome: 'ready' }],
    });
    const r1 = await call(await full.connect(), 'provision_workers', { count: 1, ttl: 2, size: 'small' });
    expect(errorCode(r1)).toBe(ErrorCode.LimitExceeded);
    expect(toolErrorOf(r1)?.rule).toBe('max_burst_workers');
    const now = Date.now();
    const hourly = setup({
      config: 'burst_workers: { provisions_per_hour: 3 }',
      starts: [now - 50 * 60_000, now - 10 * 60_000, now - 5 * 60_000],
    });
    const r2 = await call(await hourly.connect(), 'provision_workers', { count: 1, ttl: 2, size: 'small' });
    expect(errorCode(r2)).toBe(ErrorCode.LimitExceeded);
    const retryAt = toolErrorOf(r2)?.retry_at as string;
    expect(Date.parse(retryAt)).toBeGreaterThan(now + 9 * 60_000);
    expect(Date.parse(retryAt)).toBeLessThan(now + 11 * 60_000);
    expect((r2.content[0] as { text: string }).text).toContain(retryAt);
    expect(full.rec.starts).toEqual([]);
    expect(hourly.rec.starts).toEqual([]);
    // Repeating an earlier request's idempotency key starts nothing new, so the limits do not apply.
    const replay = await call(await full.connect(), 'provision_workers', {
      count: 1,
      ttl: 2,
      size: 'small',
      idempotency_key: 'seen',
    });
    expect(replay.isError).toBeFalsy();
    expect(replay.structuredContent).toMatchObject({ operation_id: 'provision:seen', existing: true });
    expect(full.rec.starts).toEqual([]);
  });

  it('provision returns names and links at once, and sends progress while waiting', async () => {
    const provisioned: ProvisionedWorker[] = [
      { name: 'bw-x', workflowId: 'burst-worker:bw-x', outcome: 'pending' },
    ];
    const s = setup({ provisioned });
    const client = await s.connect();
    const r = await call(client, 'provision_workers', {
      count: 1,
      ttl: 2,
      size: 'small',
      idempotency_key: 'k1',
    });
    expect(r.isError).toBeFalsy();
    const out = r.structuredContent as {
      operation_id: string;
      workers: Array<{ name: string; ui_url: string }>;
    };
    expect(out.operation_id).toBe('provision:k1');
    expect(out.workers).toEqual([
      expect.objectContaining({ name: 'bw-x', ui_url: 'http://ui/burst-worker:bw-x' }),
    ]);
    expect(s.audit.entries.at(-1)).toMatchObject({
      tool: 'provision_workers',
      operation_id: 'provision:k1',
      result: 'ok',
    });

    const progress: number[] = [];
    setTimeout(() => {
      provisioned[0]!.outcome = 'ready';
    }, 1500);
    const waited = (await client.callTool(
      { name: 'provision_workers', arguments: { count: 1, ttl: 2, size: 'small', wait_seconds: 30 } },
      undefined,
      { onprogress: (p) => progress.push(p.progress), timeout: 60_000 },
    )) as CallToolResult;
    expect((waited.structuredContent as { state: string }).state).toBe('ready');
    expect(progress).toEqual([0, 1]);
  });
});
