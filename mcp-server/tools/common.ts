/** Schemas and renderings shared by several tools. */
import { z } from 'zod';
import type { OperationView } from '../operations.js';

export const OperationIdSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(300, 'must be at most 300 characters')
  .regex(/^[A-Za-z0-9._:-]+$/, 'may contain only letters, digits, ".", "_", ":" and "-" (an operation id)');

export const ExecutionStatusSchema = z.enum([
  'running',
  'completed',
  'failed',
  'cancelled',
  'terminated',
  'timed_out',
  'continued_as_new',
  'unknown',
]);

export const OperationTypeSchema = z.enum(['provision', 'burst_worker', 'drain', 'destroy', 'reaper']);

export const OperationViewSchema = z.object({
  operation_id: z.string(),
  run_id: z.string(),
  workflow_type: z.string(),
  type: z.union([OperationTypeSchema, z.literal('unknown')]),
  worker: z.string().nullable(),
  execution_status: ExecutionStatusSchema,
  phase: z.string().nullable(),
  started_at: z.string(),
  closed_at: z.string().nullable(),
  ui_url: z.string(),
  progress: z.record(z.string(), z.unknown()).optional(),
  result: z.unknown().optional(),
  error: z.object({ code: z.string(), message: z.string() }).optional(),
});

export function renderOperation(op: OperationView): string {
  const parts = [
    `${op.operation_id}: ${op.type} ${op.execution_status}`,
    op.phase ? `phase ${op.phase}` : '',
    op.worker ? `worker ${op.worker}` : '',
    `started ${op.started_at}`,
    op.closed_at ? `closed ${op.closed_at}` : '',
  ].filter(Boolean);
  const err = op.error ? `\n  error ${op.error.code}: ${op.error.message}` : '';
  return `${parts.join(', ')}${err}\n  ${op.ui_url}`;
}

/** Plain JSON copy (drops class instances, Dates → strings) so output validation sees data only. */
export function plain<T>(value: T): T {
  return value === undefined ? value : (JSON.parse(JSON.stringify(value)) as T);
}
