/**
 * Provision limits from config: burst workers in total (`max_burst_workers`) and
 * workers provisioned per hour (`provisions_per_hour`). A refusal says when the
 * request would be allowed again. The counts come from the cluster and Temporal
 * (so they survive restarts) plus this process's own recent starts (visibility lags).
 */
import { ErrorCode, WorkerError } from '../core/errors.js';

export const HOUR_MS = 3_600_000;

export interface LimitSources {
  /** Names of burst workers in the cluster and of open burstWorker runs (may overlap). */
  activeBurstWorkers(): Promise<string[]>;
  /** Start times (ms) of burst workers started since `sinceMs`. */
  startsSince(sinceMs: number): Promise<number[]>;
  /**
   * Names that a provision operation started by this process has reserved, or null
   * while it has not reserved them yet (its children are not visible anywhere then).
   */
  reservedNames?(operationId: string): Promise<string[] | null>;
}

/**
 * How long this process counts its own provisions on top of what the cluster and
 * Temporal's visibility show: long enough for the children to be listed, short enough
 * that a destroyed worker stops counting soon after.
 */
export const PENDING_RESERVATION_MS = 5 * 60_000;

export interface Limits {
  max_burst_workers: number;
  provisions_per_hour: number;
}

export type LimitVerdict =
  | { allowed: true }
  | {
      allowed: false;
      rule: 'max_burst_workers' | 'provisions_per_hour';
      message: string;
      retry_at: string | null;
    };

/** Pure: decides whether `count` more workers may be provisioned now. */
export function checkLimits(
  count: number,
  active: number,
  recentStarts: readonly number[],
  limits: Limits,
  nowMs: number,
): LimitVerdict {
  if (active + count > limits.max_burst_workers) {
    return {
      allowed: false,
      rule: 'max_burst_workers',
      message: `refused: ${active} burst worker(s) exist and ${count} more would exceed burst_workers.max_burst_workers=${limits.max_burst_workers}; allowed again when ${active + count - limits.max_burst_workers} of them are destroyed`,
      retry_at: null,
    };
  }
  const windowStart = nowMs - HOUR_MS;
  const inWindow = recentStarts.filter((t) => t > windowStart).sort((a, b) => a - b);
  if (inWindow.length + count > limits.provisions_per_hour) {
    if (count > limits.provisions_per_hour) {
      return {
        allowed: false,
        rule: 'provisions_per_hour',
        message: `refused: ${count} workers exceed burst_workers.provisions_per_hour=${limits.provisions_per_hour}; ask for fewer`,
        retry_at: null,
      };
    }
    // The request fits once enough of the oldest starts leave the one-hour window.
    const mustExpire = inWindow.length + count - limits.provisions_per_hour;
    const retryAt = new Date(inWindow[mustExpire - 1]! + HOUR_MS + 1000).toISOString();
    return {
      allowed: false,
      rule: 'provisions_per_hour',
      message: `refused: ${inWindow.length} worker(s) were provisioned in the last hour and ${count} more would exceed burst_workers.provisions_per_hour=${limits.provisions_per_hour}; allowed again at ${retryAt}`,
      retry_at: retryAt,
    };
  }
  return { allowed: true };
}

export interface ProvisionLimiter {
  /**
   * Checks and reserves `count` workers. Concurrent callers are serialized so two
   * requests cannot both pass on the same headroom.
   * @throws WorkerError(LimitExceeded) naming the rule and when it is allowed again.
   */
  reserve(count: number, start: () => Promise<{ started: boolean; operationId?: string }>): Promise<void>;
}

export function createProvisionLimiter(
  limits: Limits,
  sources: LimitSources,
  now: () => number = Date.now,
): ProvisionLimiter {
  let chain: Promise<unknown> = Promise.resolve();
  const local: number[] = [];
  // Provisions this process started: their workers count before the cluster or
  // Temporal's visibility shows them (a child run starts a moment after its parent).
  let pending: Array<{ t: number; count: number; operationId: string | undefined }> = [];
  /** Workers that exist or are being created: listed names plus this process's unlisted ones. */
  const activeCount = async (t: number): Promise<number> => {
    pending = pending.filter((p) => p.t > t - PENDING_RESERVATION_MS);
    const [visible, reserved] = await Promise.all([
      sources.activeBurstWorkers(),
      Promise.all(
        pending.map(async (p) =>
          p.operationId && sources.reservedNames
            ? await sources.reservedNames(p.operationId).catch(() => null)
            : null,
        ),
      ),
    ]);
    const names = new Set(visible);
    let unnamed = 0;
    pending.forEach((p, i) => {
      const known = reserved[i];
      if (known && known.length > 0) for (const n of known) names.add(n);
      else unnamed += p.count;
    });
    return names.size + unnamed;
  };
  return {
    reserve(count, start) {
      const run = chain.then(async () => {
        const t = now();
        const [active, starts] = await Promise.all([activeCount(t), sources.startsSince(t - HOUR_MS)]);
        // Local starts not yet visible in Temporal's visibility store count too.
        const recentLocal = local.filter((s) => s > t - HOUR_MS);
        const merged = starts.length >= recentLocal.length ? starts : recentLocal;
        const verdict = checkLimits(count, active, merged, limits, t);
        if (!verdict.allowed) {
          throw new WorkerError(ErrorCode.LimitExceeded, verdict.message, {
            rule: verdict.rule,
            retry_at: verdict.retry_at,
          });
        }
        const { started, operationId } = await start();
        if (started) {
          for (let i = 0; i < count; i++) local.push(t);
          pending.push({ t, count, operationId });
        }
      });
      chain = run.catch(() => undefined);
      return run;
    },
  };
}
