import { z } from 'zod';
import { workflowId } from '../../core/operations.js';
import { WorkerIdSchema } from '../../core/schemas.js';
import type { ServerDeps } from '../deps.js';
import type { ToolConfig, ToolHost } from '../tool-host.js';
import { toolSuccess } from '../tool-result.js';

export function makeExtendTtlSchema(maxHours: number) {
  return z.strictObject({
    worker_id: WorkerIdSchema.describe('Node name of the burst worker'),
    hours: z
      .number()
      .int('must be a whole number of hours')
      .min(1, 'must be at least 1')
      .max(maxHours, `must be at most ${maxHours}`)
      .describe('Hours added to the current expiry'),
  });
}

export const ExtendWorkerTtlOutputSchema = z.object({
  worker: z.string(),
  operation_id: z.string(),
  expires_at: z.string().nullable(),
  ui_url: z.string(),
});

export const EXTEND_WORKER_TTL_TOOL: ToolConfig = {
  title: 'Extend worker TTL',
  description:
    "Adds hours to a burst worker's expiry through an update on its lifetime workflow; returns the new expiry.",
  annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false },
};

function expiryOf(answer: unknown): string | null {
  if (typeof answer === 'string') return answer;
  if (answer && typeof answer === 'object') {
    const a = answer as Record<string, unknown>;
    const v = a.expiresAt ?? a.expires_at;
    if (typeof v === 'string') return v;
  }
  return null;
}

export function registerExtendWorkerTtlTool(host: ToolHost, deps: ServerDeps): void {
  host.add({
    name: 'extend_worker_ttl',
    config: EXTEND_WORKER_TTL_TOOL,
    inputSchema: makeExtendTtlSchema(deps.config.burst_workers.max_ttl_hours),
    outputSchema: ExtendWorkerTtlOutputSchema,
    async handler(args) {
      const id = workflowId.burstWorker(args.worker_id);
      const expires = expiryOf(await deps.operations.extendTtl(args.worker_id, args.hours));
      return toolSuccess(
        { worker: args.worker_id, operation_id: id, expires_at: expires, ui_url: deps.operations.uiUrl(id) },
        `TTL of ${args.worker_id} extended by ${args.hours} h${expires ? `; it now expires at ${expires}` : ''}.`,
      );
    },
  });
}
