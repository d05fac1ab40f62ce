import { z } from 'zod';
import type { ServerDeps } from '../deps.js';
import type { ToolConfig, ToolHost } from '../tool-host.js';
import { toolSuccess } from '../tool-result.js';
import { OperationIdSchema, OperationViewSchema, plain, renderOperation } from './common.js';

export const GetOperationInputSchema = z.strictObject({
  operation_id: OperationIdSchema.describe('Operation id returned by a mutating tool (the workflow id)'),
});

export const GetOperationOutputSchema = z.object({ operation: OperationViewSchema });

export const GET_OPERATION_TOOL: ToolConfig = {
  title: 'Get operation',
  description:
    'The state of one operation from Temporal: execution status, phase, steps with timestamps, last error, result once finished, and the Temporal UI link.',
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
};

export function registerGetOperationTool(host: ToolHost, deps: ServerDeps): void {
  host.add({
    name: 'get_operation',
    config: GET_OPERATION_TOOL,
    inputSchema: GetOperationInputSchema,
    outputSchema: GetOperationOutputSchema,
    async handler(args) {
      const op = plain(await deps.operations.get(args.operation_id));
      const steps =
        op.progress?.steps?.map((s) => `  - ${s.name}: ${s.status}${s.detail ? ` (${s.detail})` : ''}`) ?? [];
      return toolSuccess({ operation: op }, [renderOperation(op), ...steps].join('\n'));
    },
  });
}
