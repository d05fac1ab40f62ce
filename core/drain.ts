/**
 * Pure drain planning: which pods of a node a drain evicts, skips or cannot touch,
 * with kubectl's filters (pkg/drain/filters.go) in kubectl's order, plus the
 * PodDisruptionBudgets that currently allow no disruption. Also the pod arithmetic
 * the inventory needs (workload pods, requested resources).
 */
import { MIRROR_POD_ANNOTATION } from './labels.js';
import { cpuMillis, memoryBytes } from './quantity.js';

export interface OwnerRefLike {
  kind: string;
  name: string;
  controller?: boolean;
}

export interface LabelSelectorLike {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{ key: string; operator: string; values?: string[] }>;
}

export interface ContainerLike {
  resources?: { requests?: Record<string, string | number | undefined> };
}

/** The subset of a V1Pod this module reads. */
export interface PodLike {
  metadata?: {
    name?: string;
    namespace?: string;
    uid?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
    ownerReferences?: OwnerRefLike[];
    deletionTimestamp?: Date | string;
  };
  spec?: {
    nodeName?: string;
    volumes?: Array<{ name: string; emptyDir?: object }>;
    containers?: ContainerLike[];
    initContainers?: ContainerLike[];
    overhead?: Record<string, string | number | undefined>;
    terminationGracePeriodSeconds?: number;
  };
  status?: { phase?: string };
}

/** The subset of a V1PodDisruptionBudget this module reads. */
export interface PdbLike {
  metadata?: { name?: string; namespace?: string };
  spec?: { selector?: LabelSelectorLike };
  status?: { disruptionsAllowed?: number };
}

export interface DrainFilterOptions {
  ignoreDaemonsets: boolean;
  deleteEmptydirData: boolean;
  force: boolean;
}

export type DrainAction = 'evict' | 'skip' | 'blocked';

/**
 * Why a pod is skipped or blocked. `options` reasons are fatal before any eviction
 * (kubectl semantics); `pdb` only delays the eviction, which is retried until the deadline.
 */
export type DrainReason =
  | 'evictable'
  | 'terminating'
  | 'finished'
  | 'mirror_pod'
  | 'daemonset'
  | 'daemonset_not_ignored'
  | 'emptydir_data'
  | 'no_controller'
  | 'pdb_disallows';

export interface DrainPlanEntry {
  namespace: string;
  name: string;
  uid: string;
  action: DrainAction;
  reason: DrainReason;
  /** Human-readable explanation, kubectl's wording where it has one. */
  message: string;
  /** Who created the pod, `Kind/name`, when a controller did. */
  owner?: string;
  /** For `pdb_disallows`: the budget that allows zero disruptions right now. */
  pdb?: string;
  /** `options` = refused by the drain flags (fatal); `pdb` = waits for the budget. */
  blockedBy?: 'options' | 'pdb';
}

export interface DrainPlan {
  worker: string;
  unschedulable: boolean;
  entries: DrainPlanEntry[];
  /** True when a drain with these options would refuse to start (an `options` block exists). */
  refused: boolean;
  counts: Record<DrainAction, number>;
}

export function controllerOf(pod: PodLike): OwnerRefLike | undefined {
  return pod.metadata?.ownerReferences?.find((o) => o.controller === true);
}

export function isMirrorPod(pod: PodLike): boolean {
  return pod.metadata?.annotations?.[MIRROR_POD_ANNOTATION] !== undefined;
}

export function isDaemonSetPod(pod: PodLike): boolean {
  return controllerOf(pod)?.kind === 'DaemonSet';
}

export function isFinished(pod: PodLike): boolean {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

export function isTerminating(pod: PodLike): boolean {
  return pod.metadata?.deletionTimestamp !== undefined && pod.metadata.deletionTimestamp !== null;
}

/** A pod that counts as work on the node: not finished, not a DaemonSet pod, not a mirror pod. */
export function isWorkloadPod(pod: PodLike): boolean {
  return !isFinished(pod) && !isDaemonSetPod(pod) && !isMirrorPod(pod);
}

export function hasEmptyDir(pod: PodLike): boolean {
  return (pod.spec?.volumes ?? []).some((v) => v.emptyDir !== undefined && v.emptyDir !== null);
}

/** Label selector semantics of the API (matchLabels AND matchExpressions). An empty selector matches all. */
export function selectorMatches(
  selector: LabelSelectorLike | undefined,
  labels: Record<string, string>,
): boolean {
  if (selector === undefined) return false; // a PDB without selector selects nothing (policy/v1)
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[k] !== v) return false;
  }
  for (const expr of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, expr.key);
    const value = labels[expr.key];
    const values = expr.values ?? [];
    switch (expr.operator) {
      case 'In':
        if (!has || !values.includes(value as string)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(value as string)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

/** The budgets (same namespace, matching selector) that cover a pod. */
export function pdbsFor(pod: PodLike, pdbs: readonly PdbLike[]): PdbLike[] {
  const ns = pod.metadata?.namespace;
  const labels = pod.metadata?.labels ?? {};
  return pdbs.filter((p) => p.metadata?.namespace === ns && selectorMatches(p.spec?.selector, labels));
}

/** The first covering budget that allows zero disruptions now, if any. */
export function blockingPdb(pod: PodLike, pdbs: readonly PdbLike[]): PdbLike | undefined {
  return pdbsFor(pod, pdbs).find((p) => (p.status?.disruptionsAllowed ?? 0) <= 0);
}

function ref(owner: OwnerRefLike | undefined): string | undefined {
  return owner ? `${owner.kind}/${owner.name}` : undefined;
}

/** Classifies one pod, kubectl's filters first (a fatal filter wins over a skip), then budgets. */
export function classifyPod(
  pod: PodLike,
  opts: DrainFilterOptions,
  pdbs: readonly PdbLike[],
): DrainPlanEntry {
  const owner = controllerOf(pod);
  const base = {
    namespace: pod.metadata?.namespace ?? '',
    name: pod.metadata?.name ?? '',
    uid: pod.metadata?.uid ?? '',
    ...(owner ? { owner: ref(owner) as string } : {}),
  };
  const skip = (reason: DrainReason, message: string): DrainPlanEntry => ({
    ...base,
    action: 'skip',
    reason,
    message,
  });
  const block = (reason: DrainReason, message: string): DrainPlanEntry => ({
    ...base,
    action: 'blocked',
    reason,
    message,
    blockedBy: 'options',
  });
  if (isTerminating(pod)) return skip('terminating', 'already being deleted; the drain waits for it');
  if (isMirrorPod(pod)) return skip('mirror_pod', 'mirror (static) pod, managed by the kubelet');
  if (isDaemonSetPod(pod)) {
    return opts.ignoreDaemonsets
      ? skip('daemonset', 'DaemonSet-managed pod, ignored')
      : block('daemonset_not_ignored', 'DaemonSet-managed pod (set ignoreDaemonsets to ignore it)');
  }
  if (isFinished(pod)) return skip('finished', `pod has finished (${pod.status?.phase})`);
  if (hasEmptyDir(pod) && !opts.deleteEmptydirData) {
    return block('emptydir_data', 'pod uses emptyDir local storage (set deleteEmptydirData to delete it)');
  }
  if (owner === undefined && !opts.force) {
    return block('no_controller', 'pod is not managed by a controller and will not be recreated (set force)');
  }
  const pdb = blockingPdb(pod, pdbs);
  if (pdb !== undefined) {
    return {
      ...base,
      action: 'blocked',
      reason: 'pdb_disallows',
      message: `PodDisruptionBudget ${pdb.metadata?.name} currently allows 0 disruptions; eviction is retried until the deadline`,
      pdb: pdb.metadata?.name ?? '',
      blockedBy: 'pdb',
    };
  }
  return { ...base, action: 'evict', reason: 'evictable', message: 'will be evicted' };
}

export function buildDrainPlan(
  worker: string,
  unschedulable: boolean,
  pods: readonly PodLike[],
  opts: DrainFilterOptions,
  pdbs: readonly PdbLike[],
): DrainPlan {
  const entries = pods
    .map((p) => classifyPod(p, opts, pdbs))
    .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name));
  const counts: Record<DrainAction, number> = { evict: 0, skip: 0, blocked: 0 };
  for (const e of entries) counts[e.action] += 1;
  return {
    worker,
    unschedulable,
    entries,
    refused: entries.some((e) => e.blockedBy === 'options'),
    counts,
  };
}

/**
 * Effective request of a pod, as the scheduler computes it:
 * max(sum of containers, largest init container) + overhead.
 */
export function podRequests(pod: PodLike): { cpuMillis: number; memoryBytes: number } {
  const sum = (cs: ContainerLike[] | undefined, f: (v: string | number | undefined) => number, key: string) =>
    (cs ?? []).reduce((acc, c) => acc + f(c.resources?.requests?.[key]), 0);
  const max = (cs: ContainerLike[] | undefined, f: (v: string | number | undefined) => number, key: string) =>
    (cs ?? []).reduce((acc, c) => Math.max(acc, f(c.resources?.requests?.[key])), 0);
  const cpu =
    Math.max(sum(pod.spec?.containers, cpuMillis, 'cpu'), max(pod.spec?.initContainers, cpuMillis, 'cpu')) +
    cpuMillis(pod.spec?.overhead?.cpu);
  const mem =
    Math.max(
      sum(pod.spec?.containers, memoryBytes, 'memory'),
      max(pod.spec?.initContainers, memoryBytes, 'memory'),
    ) + memoryBytes(pod.spec?.overhead?.memory);
  return { cpuMillis: cpu, memoryBytes: mem };
}

/**
 * The drain deadline in epoch ms: an explicit absolute deadline wins (a retried
 * activity keeps the original one); otherwise start + timeout; null = no deadline.
 */
export function drainDeadlineMs(
  opts: { timeoutSeconds: number; deadline?: string | undefined },
  startMs: number,
): number | null {
  if (opts.deadline !== undefined && opts.deadline !== '') {
    const ms = Date.parse(opts.deadline);
    if (!Number.isNaN(ms)) return ms;
  }
  return opts.timeoutSeconds > 0 ? startMs + opts.timeoutSeconds * 1000 : null;
}
