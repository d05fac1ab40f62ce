import { z } from 'zod';
import { WorkerIdSchema } from '../../core/schemas.js';
import type { ServerDeps } from '../deps.js';
import type { ToolConfig, ToolHost } from '../tool-host.js';
import { toolSuccess } from '../tool-result.js';
import {
  ExecutionStatusSchema,
  OperationTypeSchema,
  OperationViewSchema,
  plain,
  renderOperation,
} from './common.js';

export const ListOperationsInputSchema = z.strictObject({
  worker: WorkerIdSchema.optional().describe('Only operations on this worker'),
  type: OperationTypeSchema.optional().describe(
    'provision, burst_worker (a worker lifetime), drain, destroy, reaper',
  ),
  status: ExecutionStatusSchema.exclude(['unknown']).optional().describe('Execution status'),
  limit: z.number().int().min(1, 'must be at least 1').max(500, 'must be at most 500').default(50),
});

export const ListOperationsOutputSchema = z.object({
  operations: z.array(OperationViewSchema),
  count: z.number().int(),
});

export const LIST_OPERATIONS_TOOL: ToolConfig = {
  title: 'List operations',
  description:
    'Lists operations (Temporal workflow runs), newest first, filtered by worker, type and execution status through the search attributes BurstWorkerName / BurstOperation / BurstPhase.',
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};

export function registerListOperationsTool(host: ToolHost, deps: ServerDeps): void {
  host.add({
    name: 'list_operations',
    config: LIST_OPERATIONS_TOOL,
    inputSchema: ListOperationsInputSchema,
    outputSchema: ListOperationsOutputSchema,
    async handler(args) {
      const ops = plain(
        await deps.operations.list({
          limit: args.limit,
          ...(args.worker ? { worker: args.worker } : {}),
          ...(args.type ? { type: args.type } : {}),
          ...(args.status ? { status: args.status } : {}),
        }),
      );
      const text = ops.length === 0 ? 'No operations match.' : ops.map(renderOperation).join('\n');
      return toolSuccess({ operations: ops, count: ops.length }, text);
    },
  });
}
