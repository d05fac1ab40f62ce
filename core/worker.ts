/**
 * Pure classification of a Node: type (burst / permanent), status and TTL.
 * Works on plain objects shaped like the Kubernetes API's, so it is usable from
 * workflows, activities and tests alike.
 */
import type { Config } from './config.js';
import {
  DRAIN_STARTED_ANNOTATION,
  EXPIRES_AT_ANNOTATION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  TTL_ANNOTATION,
  VM_ID_ANNOTATION,
} from './labels.js';

export type WorkerType = 'burst' | 'permanent';
/**
 * Status rule, first match wins:
 * - `not_ready`: the Ready condition is not True (missing, False or Unknown);
 * - `draining`: unschedulable and a drain by this system has started and workload pods remain;
 * - `cordoned`: unschedulable otherwise (manual cordon, or a finished drain);
 * - `busy`: Ready, schedulable, running at least one workload pod (not DaemonSet, not mirror, not finished);
 * - `ready`: Ready, schedulable and idle.
 */
export type WorkerStatus = 'ready' | 'busy' | 'draining' | 'cordoned' | 'not_ready';
export const WORKER_STATUSES: readonly WorkerStatus[] = [
  'ready',
  'busy',
  'draining',
  'cordoned',
  'not_ready',
];

/** The subset of a V1Node this module reads. */
export interface NodeLike {
  metadata?: {
    name?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    creationTimestamp?: Date | string;
  };
  spec?: { unschedulable?: boolean };
  status?: { conditions?: Array<{ type: string; status: string }> };
}

export interface BurstLabel {
  key: string;
  value: string;
}

export function burstLabelOf(config: Pick<Config, 'burst_workers'>): BurstLabel {
  return config.burst_workers.label;
}

/**
 * Positive ownership: the burst label, the managed-by label and the VM annotation
 * must all be present. Anything else is permanent; a missing label never means burst.
 */
export function workerTypeOf(node: NodeLike, burstLabel: BurstLabel): WorkerType {
  const labels = node.metadata?.labels ?? {};
  const annotations = node.metadata?.annotations ?? {};
  const isBurst =
    labels[burstLabel.key] === burstLabel.value &&
    labels[MANAGED_BY_LABEL] === MANAGED_BY_VALUE &&
    typeof annotations[VM_ID_ANNOTATION] === 'string' &&
    annotations[VM_ID_ANNOTATION] !== '';
  return isBurst ? 'burst' : 'permanent';
}

export function isNodeReady(node: NodeLike): boolean {
  const ready = node.status?.conditions?.find((c) => c.type === 'Ready');
  return ready?.status === 'True';
}

export function workerStatusOf(node: NodeLike, workloadPods: number): WorkerStatus {
  if (!isNodeReady(node)) return 'not_ready';
  if (node.spec?.unschedulable === true) {
    const draining = node.metadata?.annotations?.[DRAIN_STARTED_ANNOTATION] !== undefined;
    return draining && workloadPods > 0 ? 'draining' : 'cordoned';
  }
  return workloadPods > 0 ? 'busy' : 'ready';
}

export interface TtlInfo {
  /** TTL in hours from the seed's `worker-ttl` annotation, if parseable. */
  ttlHours: number | null;
  /** Absolute expiry (RFC 3339), from the expiry annotation. */
  expiresAt: string | null;
  /** Seconds until expiry at `now`; negative once expired. */
  secondsRemaining: number | null;
  expired: boolean;
}

/** Parses a TTL annotation: hours as a positive decimal (`24`, `1.5`), optionally suffixed `h`. */
export function parseTtlHours(value: string | undefined): number | null {
  if (value === undefined) return null;
  const m = /^\s*(\d+(?:\.\d+)?)\s*h?\s*$/.exec(value);
  if (!m) return null;
  const hours = Number(m[1]);
  return Number.isFinite(hours) && hours > 0 ? hours : null;
}

/** Parses an RFC 3339 timestamp strictly; returns epoch milliseconds or null. */
export function parseRfc3339(value: string | undefined): number | null {
  if (value === undefined) return null;
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$/.test(value)) return null;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? null : ms;
}

export function ttlOf(node: NodeLike, nowMs: number): TtlInfo {
  const annotations = node.metadata?.annotations ?? {};
  const ttlHours = parseTtlHours(annotations[TTL_ANNOTATION]);
  const expiresMs = parseRfc3339(annotations[EXPIRES_AT_ANNOTATION]);
  if (expiresMs === null) {
    return { ttlHours, expiresAt: null, secondsRemaining: null, expired: false };
  }
  const secondsRemaining = Math.floor((expiresMs - nowMs) / 1000);
  return {
    ttlHours,
    expiresAt: new Date(expiresMs).toISOString(),
    secondsRemaining,
    expired: expiresMs <= nowMs,
  };
}
