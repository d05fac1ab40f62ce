/**
 * Retry policies of the activities, as plain data (pure: workflows import this file).
 * The shape matches Temporal's `RetryPolicy`, so workflows pass it to `proxyActivities`.
 */
import { ErrorCode } from './errors.js';

export interface ActivityRetryPolicy {
  initialInterval: string;
  backoffCoefficient: number;
  maximumInterval: string;
  maximumAttempts: number;
  nonRetryableErrorTypes: string[];
}

/**
 * VM provider activities (createVm, startVm, deleteVm, …). Every provider call is
 * idempotent, so retrying is safe; ten attempts outlast a 20 % failure rate on each call
 * with a wide margin, and the 30 s cap keeps a retried create inside the launch timeout.
 */
export const VM_ACTIVITY_RETRY: ActivityRetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '30s',
  maximumAttempts: 10,
  nonRetryableErrorTypes: [ErrorCode.ProviderFatal],
};

/** Parses the `<n>ms|s|m|h` durations used in these policies. */
export function durationMs(d: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(d);
  if (!m) throw new Error(`invalid duration "${d}"`);
  const n = Number(m[1]);
  const unit = m[2] as 'ms' | 's' | 'm' | 'h';
  return n * { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[unit];
}
