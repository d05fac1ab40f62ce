/**
 * Applies VM_ACTIVITY_RETRY the way Temporal applies an activity retry policy: retry a
 * retryable failure with exponential backoff until maximumAttempts; stop at once on a
 * non-retryable one. `timeScale` shrinks the intervals so tests stay fast.
 */
import { VmProviderError } from '../../activities/vm/provider.js';
import { type ActivityRetryPolicy, durationMs, VM_ACTIVITY_RETRY } from '../../core/retry.js';

export async function withVmRetry<T>(
  fn: () => Promise<T>,
  opts: { policy?: ActivityRetryPolicy; timeScale?: number; onRetry?: (err: unknown) => void } = {},
): Promise<T> {
  const policy = opts.policy ?? VM_ACTIVITY_RETRY;
  const scale = opts.timeScale ?? 0.01;
  let delay = durationMs(policy.initialInterval);
  for (let attempt = 1; ; attempt++) {
    try {
      return await fn();
    } catch (err) {
      const retryable = err instanceof VmProviderError ? err.retryable : true;
      const type = err instanceof VmProviderError ? err.code : '';
      if (!retryable || policy.nonRetryableErrorTypes.includes(type) || attempt >= policy.maximumAttempts)
        throw err;
      opts.onRetry?.(err);
      await new Promise((r) => setTimeout(r, delay * scale));
      delay = Math.min(delay * policy.backoffCoefficient, durationMs(policy.maximumInterval));
    }
  }
}
