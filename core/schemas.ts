/**
 * Input schemas: the single source of input types, used at the MCP boundary and
 * again when a workflow starts. Limits that come from config are applied by the
 * `make…Schema(config)` factories so that both places enforce the same rules.
 */
import { z } from 'zod';
import type { Config } from './config.js';

/** A node name: a DNS-1123 subdomain (lowercase alphanumerics, '-' and '.', at most 253). */
export const WorkerIdSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(253, 'must be at most 253 characters (a DNS-1123 subdomain)')
  .regex(
    /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/,
    'must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", starting and ending with a letter or digit',
  );

export const IdempotencyKeySchema = z
  .string()
  .min(1)
  .max(128, 'must be at most 128 characters')
  .regex(/^[A-Za-z0-9._:-]+$/, 'may contain only letters, digits, ".", "_", ":" and "-"');

export function makeProvisionSchema(config: Pick<Config, 'burst_workers' | 'worker_sizes'>) {
  const bw = config.burst_workers;
  const sizes = Object.keys(config.worker_sizes) as [string, ...string[]];
  return z.strictObject({
    count: z
      .number()
      .int('must be a whole number')
      .min(1, 'must be at least 1')
      .max(bw.max_workers_per_request, `must be at most ${bw.max_workers_per_request}`),
    ttl_hours: z
      .number()
      .int('must be a whole number of hours')
      .min(bw.min_ttl_hours, `must be at least ${bw.min_ttl_hours} hour(s)`)
      .max(bw.max_ttl_hours, `must be at most ${bw.max_ttl_hours} hours`),
    size: z.enum(sizes, { error: `must be one of: ${sizes.join(', ')}` }).default(bw.default_size),
    idempotency_key: IdempotencyKeySchema.optional(),
  });
}
export type ProvisionInput = z.infer<ReturnType<typeof makeProvisionSchema>>;

export const DrainOptionsSchema = z.strictObject({
  timeout_seconds: z.number().int().min(0).max(86400, 'must be at most 86400 (24 hours)').optional(),
  grace_period_seconds: z.number().int().min(-1).max(86400, 'must be at most 86400').optional(),
  ignore_daemonsets: z.boolean().optional(),
  delete_emptydir_data: z.boolean().optional(),
  force: z.boolean().optional(),
  force_after_deadline: z.boolean().optional(),
});
export type DrainOptionsInput = z.infer<typeof DrainOptionsSchema>;

export const DestroyInputSchema = z.strictObject({
  worker_id: WorkerIdSchema,
  force: z.boolean().default(false),
});
export type DestroyInput = z.infer<typeof DestroyInputSchema>;
