/**
 * The destroy policy, as a pure function. It runs at the MCP boundary, when a
 * workflow starts, and inside the delete activity right before the API call
 * (where the checked uid becomes the delete's precondition).
 */
import type { Config } from './config.js';
import { ErrorCode } from './errors.js';
import { PROTECTED_ANNOTATION } from './labels.js';
import { type NodeLike, workerTypeOf } from './worker.js';

export type SafetyVerdict =
  | { allowed: true }
  | { allowed: false; code: ErrorCode; rule: string; message: string };

export function matchesProtectedPattern(name: string, patterns: readonly string[]): string | null {
  for (const pattern of patterns) {
    if (new RegExp(pattern).test(name)) return pattern;
  }
  return null;
}

/**
 * Checks that a destructive step may touch this node at all: it must be a burst
 * worker by positive ownership and must not be protected by name or annotation.
 * `force` has no effect here by design: it never reaches a permanent worker.
 */
export function checkDestructible(
  node: NodeLike,
  config: Pick<Config, 'burst_workers' | 'safety'>,
): SafetyVerdict {
  const name = node.metadata?.name ?? '';
  const pattern = matchesProtectedPattern(name, config.safety.protected_worker_patterns);
  if (pattern !== null) {
    return {
      allowed: false,
      code: ErrorCode.ProtectedWorker,
      rule: 'protected_pattern',
      message: `refused: worker "${name}" matches the protected pattern ${JSON.stringify(pattern)} (safety.protected_worker_patterns)`,
    };
  }
  if (node.metadata?.annotations?.[PROTECTED_ANNOTATION] === 'true') {
    return {
      allowed: false,
      code: ErrorCode.ProtectedWorker,
      rule: 'protected_annotation',
      message: `refused: worker "${name}" carries the annotation ${PROTECTED_ANNOTATION}=true`,
    };
  }
  if (workerTypeOf(node, config.burst_workers.label) !== 'burst') {
    return {
      allowed: false,
      code: ErrorCode.PermanentWorker,
      rule: 'permanent_worker',
      message: `refused: worker "${name}" is permanent; only burst workers created by this system can be destroyed`,
    };
  }
  return { allowed: true };
}

/** Destroy additionally requires a drained (cordoned) node unless `force`. */
export function checkDestroy(
  node: NodeLike,
  config: Pick<Config, 'burst_workers' | 'safety'>,
  opts: { force: boolean },
): SafetyVerdict {
  const base = checkDestructible(node, config);
  if (!base.allowed) return base;
  if (config.safety.require_drain_before_destroy && !opts.force && node.spec?.unschedulable !== true) {
    const name = node.metadata?.name ?? '';
    return {
      allowed: false,
      code: ErrorCode.NotDrained,
      rule: 'not_drained',
      message: `refused: worker "${name}" is not drained; run drain_worker first or pass force=true`,
    };
  }
  return { allowed: true };
}
