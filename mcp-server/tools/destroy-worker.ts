import { z } from 'zod';
import { ErrorCode } from '../../core/errors.js';
import { checkDestroy } from '../../core/safety.js';
import { DestroyInputSchema } from '../../core/schemas.js';
import type { ServerDeps } from '../deps.js';
import { nodeLikeOf, type WorkerDetails } from '../inventory.js';
import type { ToolConfig, ToolHost } from '../tool-host.js';
import { toolFailure, toolSuccess } from '../tool-result.js';

export const CONFIRM_ACTION = 'destroy_worker';

export const DestroyWorkerInputSchema = z.strictObject({
  worker_id: DestroyInputSchema.shape.worker_id.describe('Node name of the burst worker to destroy'),
  force: DestroyInputSchema.shape.force.describe(
    'Destroy even if the worker is not drained (never reaches a permanent or protected worker); needs confirmation',
  ),
  dry_run: z
    .boolean()
    .default(false)
    .describe('Run the checks and return a confirmation token when one is needed; destroys nothing'),
  confirmation_token: z
    .string()
    .max(1024, 'must be at most 1024 characters')
    .optional()
    .describe('Token from a dry run, required when the client cannot confirm interactively'),
});

export const DestroyWorkerOutputSchema = z.object({
  worker: z.string(),
  dry_run: z.boolean(),
  confirmation_required: z.boolean(),
  confirmation_reason: z.string().nullable(),
  confirmation_token: z.string().optional(),
  confirmation_expires_at: z.string().optional(),
  operation_id: z.string().optional(),
  ui_url: z.string().optional(),
});

export const DESTROY_WORKER_TOOL: ToolConfig = {
  title: 'Destroy worker',
  description:
    'Deletes a burst worker: its VM and its Node, as a durable workflow. Refused for permanent or protected workers, and for workers not drained unless force=true. A worker that still runs pods, or force=true, needs confirmation: an elicitation when the client supports it, otherwise call first with dry_run=true and pass the returned confirmation_token.',
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: true },
};

/** Workload pods still on the node (DaemonSet and mirror pods do not count). */
export function runningWorkloadPods(w: WorkerDetails): number {
  return w.pods.filter(
    (p) =>
      p.phase !== 'Succeeded' &&
      p.phase !== 'Failed' &&
      !p.owner?.startsWith('DaemonSet/') &&
      !p.owner?.startsWith('Node/'),
  ).length;
}

export function registerDestroyWorkerTool(host: ToolHost, deps: ServerDeps): void {
  host.add({
    name: 'destroy_worker',
    config: DESTROY_WORKER_TOOL,
    inputSchema: DestroyWorkerInputSchema,
    outputSchema: DestroyWorkerOutputSchema,
    async handler(args, ctx) {
      const worker = await deps.inventory.getWorker(args.worker_id);
      const verdict = checkDestroy(nodeLikeOf(worker), deps.config, { force: args.force });
      if (!verdict.allowed) {
        return toolFailure({
          code: verdict.code,
          rule: verdict.rule,
          message: verdict.message,
          worker: worker.name,
        });
      }
      const pods = runningWorkloadPods(worker);
      const reason = args.force
        ? 'force=true skips the drain requirement'
        : pods > 0
          ? `the worker still runs ${pods} workload pod(s)`
          : null;
      const subject = { worker: args.worker_id, force: args.force };
      if (args.dry_run) {
        const token = reason ? deps.confirmations.issue(CONFIRM_ACTION, subject) : undefined;
        return toolSuccess(
          {
            worker: args.worker_id,
            dry_run: true,
            confirmation_required: reason !== null,
            confirmation_reason: reason,
            ...(token ? { confirmation_token: token.token, confirmation_expires_at: token.expires_at } : {}),
          },
          reason
            ? `Checks passed. Destroying ${args.worker_id} needs confirmation (${reason}): call destroy_worker again with this confirmation_token before ${token?.expires_at}.`
            : `Checks passed; destroy_worker(${args.worker_id}) would start without confirmation.`,
        );
      }
      if (reason) {
        if (args.confirmation_token !== undefined) {
          const problem = deps.confirmations.verify(args.confirmation_token, CONFIRM_ACTION, subject);
          if (problem) {
            return toolFailure({
              code: ErrorCode.ConfirmationRequired,
              message: `${problem}; run a new dry run`,
              worker: args.worker_id,
            });
          }
        } else if (ctx.canElicit) {
          const ok = await ctx.confirm(
            `Destroy worker ${args.worker_id}? ${reason}. Its VM and Node will be deleted.`,
          );
          if (!ok) {
            return toolFailure({
              code: ErrorCode.ConfirmationRequired,
              message: `destroy of ${args.worker_id} was not confirmed`,
              worker: args.worker_id,
            });
          }
        } else {
          return toolFailure({
            code: ErrorCode.ConfirmationRequired,
            message: `destroying ${args.worker_id} needs confirmation (${reason}): call destroy_worker with dry_run=true and pass the returned confirmation_token (valid ${deps.config.safety.confirmation_ttl_seconds} s)`,
            worker: args.worker_id,
          });
        }
      }
      const op = await deps.operations.startDestroy({
        worker: args.worker_id,
        force: args.force,
        requestedBy: ctx.caller,
      });
      return toolSuccess(
        {
          worker: args.worker_id,
          dry_run: false,
          confirmation_required: reason !== null,
          confirmation_reason: reason,
          operation_id: op.operationId,
          ui_url: op.uiUrl,
        },
        `Started destroy of ${args.worker_id}: ${op.operationId}\n${op.uiUrl}\nFollow with get_operation.`,
      );
    },
  });
}
