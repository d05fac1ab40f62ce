import { z } from 'zod';
import type { DrainPlan } from '../../core/drain.js';
import { checkDestructible } from '../../core/safety.js';
import { DrainOptionsSchema, WorkerIdSchema } from '../../core/schemas.js';
import type { ServerDeps } from '../deps.js';
import { nodeLikeOf } from '../inventory.js';
import type { ToolConfig, ToolHost } from '../tool-host.js';
import { toolFailure, toolSuccess } from '../tool-result.js';
import { plain } from './common.js';

const opts = DrainOptionsSchema.shape;
export const DrainWorkerInputSchema = z.strictObject({
  worker_id: WorkerIdSchema.describe('Node name of the burst worker to drain'),
  timeout_seconds: opts.timeout_seconds.describe('Drain deadline in seconds (0 = none); default from config'),
  grace_period_seconds: opts.grace_period_seconds.describe(
    "Pod termination grace period (-1 = each pod's own); default from config",
  ),
  ignore_daemonsets: opts.ignore_daemonsets,
  delete_emptydir_data: opts.delete_emptydir_data,
  force: opts.force.describe('Also evict pods that no controller recreates'),
  dry_run: z
    .boolean()
    .default(false)
    .describe('Return the drain plan (evict / skip / blocked per pod) and change nothing'),
});

const PlanEntrySchema = z
  .object({
    namespace: z.string(),
    name: z.string(),
    action: z.string(),
    reason: z.string(),
    message: z.string(),
  })
  .loose();

export const DrainPlanSchema = z.object({
  unschedulable: z.boolean(),
  refused: z.boolean(),
  counts: z.record(z.string(), z.number()),
  entries: z.array(PlanEntrySchema),
});

export const DrainWorkerOutputSchema = z.object({
  worker: z.string(),
  dry_run: z.boolean(),
  operation_id: z.string().optional(),
  ui_url: z.string().optional(),
  plan: DrainPlanSchema.optional(),
});

/** The plan as structured content and as readable lines. */
export function renderDrainPlan(plan: DrainPlan): { plan: z.infer<typeof DrainPlanSchema>; lines: string[] } {
  const head = plan.refused
    ? `A drain of ${plan.worker} with these options would be refused:`
    : `Drain plan for ${plan.worker} (${plan.counts.evict ?? 0} to evict, ${plan.counts.skip ?? 0} skipped, ${plan.counts.blocked ?? 0} blocked):`;
  return {
    plan: plain({
      unschedulable: plan.unschedulable,
      refused: plan.refused,
      counts: plan.counts,
      entries: plan.entries.map((e) => ({ ...e })),
    }),
    lines: [head, ...plan.entries.map((e) => `- ${e.action} ${e.namespace}/${e.name}: ${e.message}`)],
  };
}

export const DRAIN_WORKER_TOOL: ToolConfig = {
  title: 'Drain worker',
  description:
    'Cordons a burst worker and evicts its pods through the Eviction API (PodDisruptionBudgets honoured, deadline bounded), as a durable workflow; returns the operation id at once. dry_run=true returns the plan (which pods would be evicted, skipped or blocked, and why) without touching anything.',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
};

export function registerDrainWorkerTool(host: ToolHost, deps: ServerDeps): void {
  host.add({
    name: 'drain_worker',
    config: DRAIN_WORKER_TOOL,
    inputSchema: DrainWorkerInputSchema,
    outputSchema: DrainWorkerOutputSchema,
    async handler(args, ctx) {
      const overrides = {
        timeoutSeconds: args.timeout_seconds,
        gracePeriodSeconds: args.grace_period_seconds,
        ignoreDaemonsets: args.ignore_daemonsets,
        deleteEmptydirData: args.delete_emptydir_data,
        force: args.force,
      };
      const worker = await deps.inventory.getWorker(args.worker_id);
      const verdict = checkDestructible(nodeLikeOf(worker), deps.config);
      if (!verdict.allowed) {
        return toolFailure({
          code: verdict.code,
          rule: verdict.rule,
          message: verdict.message,
          worker: worker.name,
        });
      }
      if (args.dry_run) {
        const rendered = renderDrainPlan(await deps.inventory.planDrain(args.worker_id, overrides));
        return toolSuccess(
          plain({ worker: worker.name, dry_run: true, plan: rendered.plan }),
          rendered.lines.join('\n'),
        );
      }
      const op = await deps.operations.startDrain({
        worker: args.worker_id,
        ...(args.timeout_seconds !== undefined ? { timeoutSeconds: args.timeout_seconds } : {}),
        ...(args.grace_period_seconds !== undefined ? { gracePeriodSeconds: args.grace_period_seconds } : {}),
        ...(args.ignore_daemonsets !== undefined ? { ignoreDaemonsets: args.ignore_daemonsets } : {}),
        ...(args.delete_emptydir_data !== undefined ? { deleteEmptydirData: args.delete_emptydir_data } : {}),
        ...(args.force !== undefined ? { force: args.force } : {}),
        requestedBy: ctx.caller,
      });
      return toolSuccess(
        { worker: args.worker_id, dry_run: false, operation_id: op.operationId, ui_url: op.uiUrl },
        `Started drain of ${args.worker_id}: ${op.operationId}\n${op.uiUrl}\nFollow with get_operation.`,
      );
    },
  });
}
