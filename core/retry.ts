/**
 * Retry policies of the activities, as plain data (pure: workflows import this file).
 * The shape matches Temporal's `RetryPolicy`, so workflows pass it to `proxyActivities`.
 */
import { ACTIVITY_FINAL_CODES, ErrorCode } from './errors.js';

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

/**
 * Kubernetes API activities (read, cordon, label, delete). Every call is idempotent;
 * the typed safety and validation codes are never retried.
 */
export const KUBE_ACTIVITY_RETRY: ActivityRetryPolicy = {
  initialInterval: '1s',
  backoffCoefficient: 2,
  maximumInterval: '20s',
  maximumAttempts: 20,
  nonRetryableErrorTypes: [...ACTIVITY_FINAL_CODES],
};

/** Waits that end on their own deadline (registration, launch): the deadline is the only limit. */
export const WAIT_ACTIVITY_RETRY: ActivityRetryPolicy = {
  ...KUBE_ACTIVITY_RETRY,
  maximumAttempts: 1000,
};

/**
 * Named activity timeouts (Karpenter style: one step, one named timeout). A short
 * heartbeat timeout on every activity means a killed worker's activity is retried
 * by another worker within seconds, not after the start-to-close timeout.
 */
export const ActivityTimeout = {
  /** One Kubernetes API call or a short sequence of them. */
  kubeCall: '30s',
  /** One VM provider call (create, start, delete). */
  vmCall: '5m',
  /** Every activity heartbeats at least this often while it runs. */
  heartbeat: '10s',
  /** Upper bound of one drain activity (the drain's own deadline is usually shorter). */
  drain: '25h',
  /** Reads over the whole inventory (reaper). */
  inventory: '2m',
  /** Waiting on another workflow (destroy delegating to the lifetime run). */
  awaitWorkflow: '2h',
} as const;

/** Period of the auto-heartbeat of every activity (well under ActivityTimeout.heartbeat). */
export const HEARTBEAT_INTERVAL_MS = 2_000;
