/**
 * Input validation at workflow start, with the same core schemas and config limits as
 * the MCP boundary (safety invariant 7): a workflow started directly with the Temporal
 * client gets the same rules. Failures are non-retryable `ValidationFailed`.
 */
import { ApplicationFailure } from '@temporalio/workflow';
import { z } from 'zod';
import type { WorkflowPolicy } from '../activities/types.js';
import { ErrorCode } from '../core/errors.js';
import { IdempotencyKeySchema, WorkerIdSchema } from '../core/schemas.js';

function ttlSecondsSchema(policy: WorkflowPolicy) {
  const max = policy.burstWorkers.max_ttl_hours * 3600;
  return z
    .number()
    .int('must be a whole number of seconds')
    .min(1, 'must be at least 1 second')
    .max(max, `must be at most ${max} seconds (${policy.burstWorkers.max_ttl_hours} hours)`);
}

function sizeSchema(policy: WorkflowPolicy) {
  const sizes = policy.workerSizes;
  return z.string().refine((s) => sizes.includes(s), { message: `must be one of: ${sizes.join(', ')}` });
}

/** `field: rule` for each issue (core/config's formatter pulls in the YAML parser). */
function formatIssues(issues: readonly z.core.$ZodIssue[]): string {
  return issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('; ');
}

export function parseInput<T>(schema: z.ZodType<T>, input: unknown, what: string): T {
  const result = schema.safeParse(input);
  if (!result.success) {
    throw ApplicationFailure.create({
      message: `${what}: invalid input: ${formatIssues(result.error.issues)}`,
      type: ErrorCode.ValidationFailed,
      nonRetryable: true,
    });
  }
  return result.data;
}

export function burstWorkerInputSchema(policy: WorkflowPolicy) {
  return z.object({
    name: WorkerIdSchema.max(63, 'must be at most 63 characters'),
    sizeName: sizeSchema(policy),
    ttlSeconds: ttlSecondsSchema(policy),
    requestedBy: z.string().max(256).optional(),
  });
}

export function provisionInputSchema(policy: WorkflowPolicy) {
  const max = policy.burstWorkers.max_workers_per_request;
  return z.object({
    count: z
      .number()
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(max, `must be at most ${max}`),
    ttlSeconds: ttlSecondsSchema(policy),
    size: sizeSchema(policy),
    idempotencyKey: IdempotencyKeySchema,
    requestedBy: z.string().max(256).optional(),
  });
}

export const workerOperationSchema = z.object({
  worker: WorkerIdSchema,
});

export const drainInputSchema = z.object({
  worker: WorkerIdSchema,
  timeoutSeconds: z.number().int().min(0).max(86400, 'must be at most 86400 (24 hours)').optional(),
  gracePeriodSeconds: z.number().int().min(-1).max(86400, 'must be at most 86400').optional(),
  ignoreDaemonsets: z.boolean().optional(),
  deleteEmptydirData: z.boolean().optional(),
  force: z.boolean().optional(),
  forceAfterDeadline: z.boolean().optional(),
  requestedBy: z.string().max(256).optional(),
});

export const destroyInputSchema = z.object({
  worker: WorkerIdSchema,
  force: z.boolean(),
  requestedBy: z.string().max(256).optional(),
});

export function nonRetryable(code: ErrorCode, message: string, details?: unknown): ApplicationFailure {
  return ApplicationFailure.create({
    message,
    type: code,
    nonRetryable: true,
    details: details === undefined ? undefined : [details],
  });
}
