import { z } from 'zod';
import { WorkerIdSchema } from '../../core/schemas.js';
import type { ServerDeps } from '../deps.js';
import type { OperationView } from '../operations.js';
import type { ToolConfig, ToolHost } from '../tool-host.js';
import { toolSuccess } from '../tool-result.js';
import { OperationViewSchema, plain, renderOperation } from './common.js';
import { DrainPlanSchema, renderDrainPlan } from './drain-worker.js';
import { renderRow, WorkerRowSchema, workerRow } from './list-workers.js';

export const GetWorkerDetailsInputSchema = z.strictObject({
  worker_id: WorkerIdSchema.describe('Node name of the worker'),
  include_drain_plan: z
    .boolean()
    .default(false)
    .describe(
      'Also return what a drain with the configured options would do to each pod (evict / skip / blocked, and why); reads only, so it works in read_only mode',
    ),
});

export const GetWorkerDetailsOutputSchema = z.object({
  worker: WorkerRowSchema.extend({
    uid: z.string(),
    labels: z.record(z.string(), z.string()),
    annotations: z.record(z.string(), z.string()),
    taints: z.array(z.object({ key: z.string(), value: z.string().optional(), effect: z.string() })),
    conditions: z.array(z.object({ type: z.string(), status: z.string() }).loose()),
    pods: z.array(
      z.object({ namespace: z.string(), name: z.string(), phase: z.string(), owner: z.string().optional() }),
    ),
    capacity: z.object({ cpu: z.string(), memory: z.string(), pods: z.string() }),
    requested: z.object({ cpuMillis: z.number(), memoryBytes: z.number() }),
  }),
  /** The running mutation on this worker (drain, destroy), else its lifecycle run, else null. */
  current_operation: OperationViewSchema.nullable(),
  last_operation: OperationViewSchema.nullable(),
  operations_note: z.string().optional(),
  /** With include_drain_plan: the plan of a drain with the configured options (nothing is changed). */
  drain_plan: DrainPlanSchema.optional(),
});

export const GET_WORKER_DETAILS_TOOL: ToolConfig = {
  title: 'Get worker details',
  description:
    "Everything the inventory knows about one worker (labels, annotations, taints, conditions, pods, resources, TTL) plus its running or last operation and that operation's phase; with include_drain_plan, what a drain would do to each pod.",
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
};

function pickOperations(ops: OperationView[]): { current: OperationView | null; last: OperationView | null } {
  const running = ops.filter((o) => o.execution_status === 'running');
  const current = running.find((o) => o.type !== 'burst_worker') ?? running[0] ?? null;
  const byStart = [...ops].sort((a, b) => b.started_at.localeCompare(a.started_at));
  const last = byStart.find((o) => o !== current) ?? null;
  return { current, last };
}

export function registerGetWorkerDetailsTool(host: ToolHost, deps: ServerDeps): void {
  host.add({
    name: 'get_worker_details',
    config: GET_WORKER_DETAILS_TOOL,
    inputSchema: GetWorkerDetailsInputSchema,
    outputSchema: GetWorkerDetailsOutputSchema,
    async handler(args) {
      const details = await deps.inventory.getWorker(args.worker_id);
      let ops: OperationView[] = [];
      let note: string | undefined;
      try {
        ops = await deps.operations.list({ worker: args.worker_id, limit: 20 });
      } catch (err) {
        note = `operations unavailable: ${err instanceof Error ? err.message : String(err)}`;
      }
      const { current, last } = pickOperations(ops);
      const drainPlan = args.include_drain_plan
        ? renderDrainPlan(await deps.inventory.planDrain(args.worker_id, {}))
        : undefined;
      if (current && current.execution_status === 'running') {
        const full = await deps.operations.get(current.operation_id).catch(() => null);
        if (full) Object.assign(current, full);
      }
      const worker = {
        ...workerRow(details),
        uid: details.uid,
        labels: details.labels,
        annotations: details.annotations,
        taints: details.taints,
        conditions: details.conditions,
        pods: details.pods,
        capacity: details.capacity,
        requested: details.requested,
      };
      const lines = [
        renderRow(worker),
        `  pods: ${details.pods.map((p) => `${p.namespace}/${p.name}`).join(', ') || 'none'}`,
        current ? `  current operation: ${renderOperation(current)}` : '  no running operation',
        last ? `  last operation: ${renderOperation(last)}` : '',
        note ? `  ${note}` : '',
        ...(drainPlan ? drainPlan.lines.map((l) => `  ${l}`) : []),
      ].filter(Boolean);
      return toolSuccess(
        plain({
          worker,
          current_operation: current,
          last_operation: last,
          ...(note ? { operations_note: note } : {}),
          ...(drainPlan ? { drain_plan: drainPlan.plan } : {}),
        }),
        lines.join('\n'),
      );
    },
  });
}
