import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import type { Config } from '../../core/config.js';
import { type ProvisionedWorker, workflowId } from '../../core/operations.js';
import { makeProvisionSchema } from '../../core/schemas.js';
import type { ServerDeps } from '../deps.js';
import type { ToolConfig, ToolContext, ToolHost } from '../tool-host.js';
import { toolSuccess } from '../tool-result.js';

/** How long to wait for the workflow to reserve the worker names before returning. */
export const NAMES_WAIT_MS = 20_000;
export const POLL_INTERVAL_MS = 1000;
export const MAX_WAIT_SECONDS = 900;

/** The MCP boundary speaks the seed's `ttl` (hours); the rules are those of core/schemas. */
export function makeProvisionToolSchema(config: Pick<Config, 'burst_workers' | 'worker_sizes'>) {
  const base = makeProvisionSchema(config).shape;
  return z.strictObject({
    count: base.count.describe(`How many burst workers (1-${config.burst_workers.max_workers_per_request})`),
    ttl: base.ttl_hours
      .default(config.burst_workers.default_ttl_hours)
      .describe(
        `Time to live in hours (${config.burst_workers.min_ttl_hours}-${config.burst_workers.max_ttl_hours}); the worker is drained and destroyed when it expires`,
      ),
    size: base.size.describe(`Worker size: ${Object.keys(config.worker_sizes).join(', ')}`),
    idempotency_key: base.idempotency_key.describe(
      'Repeat a request with the same key to get the same operation instead of new workers',
    ),
    wait_seconds: z
      .number()
      .int('must be a whole number of seconds')
      .min(0, 'must be at least 0')
      .max(MAX_WAIT_SECONDS, `must be at most ${MAX_WAIT_SECONDS}`)
      .default(0)
      .describe(
        'Wait up to this long for the workers to be Ready, with progress notifications; 0 = return at once',
      ),
  });
}

const WorkerOutSchema = z.object({
  name: z.string(),
  operation_id: z.string(),
  ui_url: z.string(),
  outcome: z.enum(['pending', 'ready', 'failed']),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

export const ProvisionWorkersOutputSchema = z.object({
  operation_id: z.string(),
  idempotency_key: z.string(),
  ui_url: z.string(),
  existing: z.boolean().describe('True when the idempotency key matched an earlier request'),
  state: z.enum(['started', 'pending', 'ready', 'partially_failed', 'failed']),
  workers: z.array(WorkerOutSchema),
});

export const PROVISION_WORKERS_TOOL: ToolConfig = {
  title: 'Provision burst workers',
  description:
    'Creates burst worker VMs that join the cluster with a TTL, as a durable workflow. Returns at once with the operation id, the worker names and a Temporal UI link per run; follow with get_operation, or pass wait_seconds to wait for readiness (with progress notifications). Limited by burst_workers.max_burst_workers and provisions_per_hour.',
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
};

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const t = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      resolve();
    });
  });

function outcomeState(workers: ProvisionedWorker[]): 'pending' | 'ready' | 'partially_failed' | 'failed' {
  if (workers.length === 0 || workers.some((w) => w.outcome === 'pending')) return 'pending';
  const failed = workers.filter((w) => w.outcome === 'failed').length;
  if (failed === 0) return 'ready';
  return failed === workers.length ? 'failed' : 'partially_failed';
}

export function registerProvisionWorkersTool(host: ToolHost, deps: ServerDeps): void {
  const schema = makeProvisionToolSchema(deps.config);
  host.add({
    name: 'provision_workers',
    config: PROVISION_WORKERS_TOOL,
    inputSchema: schema,
    outputSchema: ProvisionWorkersOutputSchema,
    async handler(args, ctx: ToolContext) {
      const key = args.idempotency_key ?? randomUUID();
      // A repeated idempotency key joins the earlier operation: no new workers, so no limit applies.
      const earlier = args.idempotency_key ? await deps.operations.findProvision(key) : null;
      let started: Awaited<ReturnType<typeof deps.operations.startProvision>> | undefined = earlier
        ? { ...earlier, existing: true }
        : undefined;
      if (!started) {
        await deps.limiter.reserve(args.count, async () => {
          started = await deps.operations.startProvision({
            count: args.count,
            ttlSeconds: args.ttl * 3600,
            size: args.size,
            idempotencyKey: key,
            requestedBy: ctx.caller,
          });
          return { started: !started.existing, operationId: started.operationId };
        });
      }
      const op = started!;

      // The names are reserved by the workflow's first step; a dropped connection stops only this wait.
      let workers: ProvisionedWorker[] = [];
      const namesDeadline = Date.now() + NAMES_WAIT_MS;
      while (!ctx.signal.aborted && Date.now() < namesDeadline) {
        workers = (await deps.operations.provisionStatus(op.operationId))?.workers ?? [];
        if (workers.length > 0) break;
        await sleep(250, ctx.signal);
      }
      if (args.wait_seconds > 0 && workers.length > 0) {
        const deadline = Date.now() + args.wait_seconds * 1000;
        let lastDone = -1;
        while (!ctx.signal.aborted && Date.now() < deadline && outcomeState(workers) === 'pending') {
          const done = workers.filter((w) => w.outcome !== 'pending').length;
          if (done !== lastDone) {
            lastDone = done;
            await ctx.progress(done, workers.length, `${done}/${workers.length} worker(s) finished`);
          }
          await sleep(POLL_INTERVAL_MS, ctx.signal);
          workers = (await deps.operations.provisionStatus(op.operationId))?.workers ?? workers;
        }
        const done = workers.filter((w) => w.outcome !== 'pending').length;
        await ctx.progress(done, workers.length, `${done}/${workers.length} worker(s) finished`);
      }
      const state =
        args.wait_seconds > 0 || workers.some((w) => w.outcome !== 'pending')
          ? outcomeState(workers)
          : 'started';
      const out = workers.map((w) => ({
        name: w.name,
        operation_id: w.workflowId || workflowId.burstWorker(w.name),
        ui_url: deps.operations.uiUrl(w.workflowId || workflowId.burstWorker(w.name)),
        outcome: w.outcome,
        ...(w.error ? { error: { code: w.error.code, message: w.error.message } } : {}),
      }));
      const text = [
        `${op.existing ? 'Existing' : 'Started'} operation ${op.operationId} (${state}): ${args.count} ${args.size} worker(s), TTL ${args.ttl} h`,
        op.uiUrl,
        ...out.map((w) => `- ${w.name}: ${w.outcome} ${w.ui_url}`),
        workers.length === 0 ? 'Worker names are not reserved yet; follow with get_operation.' : '',
      ]
        .filter(Boolean)
        .join('\n');
      return toolSuccess(
        {
          operation_id: op.operationId,
          idempotency_key: key,
          ui_url: op.uiUrl,
          existing: op.existing,
          state,
          workers: out,
        },
        text,
      );
    },
  });
}
