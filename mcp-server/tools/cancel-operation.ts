import { z } from 'zod';
import { ErrorCode } from '../../core/errors.js';
import type { ServerDeps } from '../deps.js';
import type { ToolConfig, ToolHost } from '../tool-host.js';
import { toolFailure, toolSuccess } from '../tool-result.js';
import { ExecutionStatusSchema, OperationIdSchema } from './common.js';

export const CancelOperationInputSchema = z.strictObject({
  operation_id: OperationIdSchema.describe('Operation id of a running provision, drain or destroy'),
});

export const CancelOperationOutputSchema = z.object({
  operation_id: z.string(),
  cancel_requested: z.boolean(),
  execution_status: ExecutionStatusSchema,
  ui_url: z.string(),
});

export const CANCEL_OPERATION_TOOL: ToolConfig = {
  title: 'Cancel operation',
  description:
    "Requests cancellation of a running provision, drain or destroy operation; the workflow runs its compensation (a cancelled provision deletes the VMs it created, a cancelled drain leaves the node cordoned). A worker's lifetime run cannot be cancelled here: use destroy_worker.",
  annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
};

export function registerCancelOperationTool(host: ToolHost, deps: ServerDeps): void {
  host.add({
    name: 'cancel_operation',
    config: CANCEL_OPERATION_TOOL,
    inputSchema: CancelOperationInputSchema,
    outputSchema: CancelOperationOutputSchema,
    async handler(args) {
      const op = await deps.operations.get(args.operation_id);
      if (op.type === 'burst_worker' || op.type === 'reaper') {
        return toolFailure({
          code: ErrorCode.ModeForbidden,
          rule: 'not_cancellable',
          message: `refused: ${args.operation_id} is a ${op.type === 'reaper' ? 'reaper run' : "worker's lifetime run"}; use destroy_worker to end a worker`,
        });
      }
      if (op.execution_status !== 'running') {
        return toolSuccess(
          {
            operation_id: op.operation_id,
            cancel_requested: false,
            execution_status: op.execution_status,
            ui_url: op.ui_url,
          },
          `${op.operation_id} is already ${op.execution_status}; nothing to cancel.`,
        );
      }
      await deps.operations.cancel(args.operation_id);
      return toolSuccess(
        {
          operation_id: op.operation_id,
          cancel_requested: true,
          execution_status: op.execution_status,
          ui_url: op.ui_url,
        },
        `Cancellation of ${op.operation_id} requested; follow with get_operation.\n${op.ui_url}`,
      );
    },
  });
}
