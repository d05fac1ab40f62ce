/**
 * Drain: kubectl's semantics (filters, fatal-before-evict, Eviction API, 429 retry,
 * 404 = gone) with Karpenter's deadline (fail with a report, or delete what is left
 * when `forceAfterDeadline`). Resumable: every run starts from the node's real state.
 */
import { type V1Pod, type V1PodDisruptionBudget, Watch } from '@kubernetes/client-node';
import type { Config } from '../../core/config.js';
import {
  buildDrainPlan,
  type DrainPlan,
  type DrainPlanEntry,
  drainDeadlineMs,
  pdbsFor,
} from '../../core/drain.js';
import { ErrorCode, WorkerError } from '../../core/errors.js';
import { DRAIN_STARTED_ANNOTATION } from '../../core/labels.js';
import type { DrainWorkerResult, PodRef } from '../../core/operations.js';
import { isNodeReady } from '../../core/worker.js';
import { type KubeClients, kubeCall, messageOf, statusOf } from './client.js';
import { listPodsOnNode } from './inventory.js';
import { getNodeOrNull, patchNode } from './nodes.js';
import { abortError, observe, sleep, Waker } from './watch.js';

export type { DrainPlan, DrainPlanEntry } from '../../core/drain.js';

export interface DrainOptions {
  /** Overall deadline in seconds; 0 = none. Ignored when `deadline` is set. */
  timeoutSeconds: number;
  /** Upper bound of each pod's termination grace period; -1 = the pod's own. */
  gracePeriodSeconds: number;
  ignoreDaemonsets: boolean;
  deleteEmptydirData: boolean;
  /** Evict pods that no controller recreates. */
  force: boolean;
  /** At the deadline delete the remaining pods (bypassing budgets) instead of failing. */
  forceAfterDeadline: boolean;
  /** Wait between eviction attempts refused by a PodDisruptionBudget (429). */
  evictionRetrySeconds: number;
  maxConcurrentEvictions: number;
  /** Absolute RFC 3339 deadline; wins over timeoutSeconds so a retried activity keeps the original one. */
  deadline?: string;
}

export interface DrainProgress {
  worker: string;
  phase: 'cordoned' | 'evicting' | 'waiting' | 'force_deleting' | 'done';
  deadline: string | null;
  /** Pods this drain removes (evictable plus already terminating). */
  total: number;
  /** Evictions accepted so far. */
  evicted: number;
  /** Of `total`, pods still on the node. */
  remaining: number;
  /** Pods whose last eviction attempt a PodDisruptionBudget refused. */
  waitingOnPdb: PodRef[];
}

export type DrainNodeOptions = DrainOptions & {
  onProgress?: (p: DrainProgress) => void;
  signal?: AbortSignal;
};

/** Grace period (seconds) of pods deleted at the deadline under forceAfterDeadline. */
export const FORCE_DELETE_GRACE_SECONDS = 0;
/** How long to wait for force-deleted pods to disappear. */
const FORCE_DELETE_WAIT_MS = 30_000;
/** Progress is reported at least this often (drives Temporal heartbeats). */
const PROGRESS_INTERVAL_MS = 2000;
/** Transient API errors on eviction are retried this many times before the activity fails. */
const TRANSIENT_RETRIES = 5;

export function resolveDrainOptions(config: Config, overrides: Partial<DrainOptions> = {}): DrainOptions {
  const d = config.drain;
  const defined = Object.fromEntries(Object.entries(overrides).filter(([, v]) => v !== undefined));
  return {
    timeoutSeconds: d.timeout_seconds,
    gracePeriodSeconds: d.grace_period_seconds,
    ignoreDaemonsets: d.ignore_daemonsets,
    deleteEmptydirData: d.delete_emptydir_data,
    force: d.force,
    forceAfterDeadline: false,
    evictionRetrySeconds: d.eviction_retry_seconds,
    maxConcurrentEvictions: d.max_concurrent_evictions,
    ...defined,
  };
}

async function listPdbs(k: KubeClients): Promise<V1PodDisruptionBudget[]> {
  const list = await kubeCall(k, 'list PodDisruptionBudgets', () =>
    k.policy.listPodDisruptionBudgetForAllNamespaces(),
  );
  return list.items;
}

async function requireNode(k: KubeClients, name: string) {
  const node = await getNodeOrNull(k, name);
  if (node === null) {
    throw new WorkerError(ErrorCode.WorkerNotFound, `worker "${name}" does not exist`, { worker: name });
  }
  return node;
}

/** Read-only: what a drain with these options would do to each pod of the node, right now. */
export async function planDrain(
  k: KubeClients,
  _config: Config,
  name: string,
  opts: DrainOptions,
): Promise<DrainPlan> {
  const node = await requireNode(k, name);
  const [pods, pdbs] = await Promise.all([listPodsOnNode(k, name), listPdbs(k)]);
  return buildDrainPlan(name, node.spec?.unschedulable === true, pods, opts, pdbs);
}

function refOf(e: DrainPlanEntry): PodRef {
  return { namespace: e.namespace, name: e.name, reason: e.reason, ...(e.pdb ? { pdb: e.pdb } : {}) };
}

function podKey(p: { metadata?: { uid?: string } }): string {
  return p.metadata?.uid ?? '';
}

function blockedError(name: string, plan: DrainPlan): WorkerError {
  const blocked = plan.entries.filter((e) => e.blockedBy === 'options');
  const result: DrainWorkerResult = {
    worker: name,
    completed: false,
    evicted: [],
    skipped: plan.entries.filter((e) => e.action === 'skip').map(refOf),
    blocked: blocked.map(refOf),
    forceDeleted: [],
  };
  const list = blocked.map((e) => `${e.namespace}/${e.name} (${e.message})`).join('; ');
  return new WorkerError(ErrorCode.DrainBlocked, `cannot drain "${name}": ${list}`, { ...result });
}

interface Target {
  entry: DrainPlanEntry;
  pod: V1Pod;
  /** Eviction accepted (or the pod was already terminating). */
  evicted: boolean;
  /** Name of the budget that refused the last attempt. */
  pdb?: string;
}

/**
 * Cordons the node, records the drain start, evicts every evictable pod through the
 * Eviction API (pod UID as precondition, bounded concurrency, 429 retried until the
 * deadline) and waits with a WATCH until each of them is gone or replaced.
 * @throws WorkerError(DrainBlocked) before any eviction when options forbid a pod;
 *         WorkerError(DrainTimeout) at the deadline, node left cordoned, details = DrainWorkerResult.
 */
export async function drainNode(
  k: KubeClients,
  _config: Config,
  name: string,
  opts: DrainNodeOptions,
): Promise<DrainWorkerResult> {
  const startMs = Date.now();
  const deadlineMs = drainDeadlineMs(opts, startMs);
  const deadlineIso = deadlineMs === null ? null : new Date(deadlineMs).toISOString();
  const signal = opts.signal;
  if (signal?.aborted) throw abortError(signal);

  // 1. Refuse before touching anything when the options forbid a pod (kubectl's fatal filters).
  const node = await requireNode(k, name);
  {
    const [pods, pdbs] = await Promise.all([listPodsOnNode(k, name), listPdbs(k)]);
    const plan = buildDrainPlan(name, node.spec?.unschedulable === true, pods, opts, pdbs);
    if (plan.refused) throw blockedError(name, plan);
  }

  // 2. Cordon and record the start (kept from an earlier run: the drain resumes).
  const started = node.metadata?.annotations?.[DRAIN_STARTED_ANNOTATION];
  const cordoned = await patchNode(k, name, {
    spec: { unschedulable: true },
    ...(started
      ? {}
      : { metadata: { annotations: { [DRAIN_STARTED_ANNOTATION]: new Date(startMs).toISOString() } } }),
  });

  // 3. Plan again on the cordoned node: nothing new can land after this list but DaemonSet pods.
  let pdbs = await listPdbs(k);
  const pods = await listPodsOnNode(k, name);
  const plan = buildDrainPlan(name, true, pods, opts, pdbs);
  if (plan.refused) throw blockedError(name, plan);
  const podByUid = new Map(pods.map((p) => [podKey(p), p]));
  const targets = new Map<string, Target>();
  const skipped: PodRef[] = [];
  for (const e of plan.entries) {
    const pod = podByUid.get(e.uid) as V1Pod;
    if (e.action === 'skip' && e.reason !== 'terminating') skipped.push(refOf(e));
    else if (e.action === 'evict' || e.blockedBy === 'pdb' || e.reason === 'terminating') {
      targets.set(e.uid, { entry: e, pod, evicted: e.reason === 'terminating' });
    }
  }

  // Pods bound to the node now, by uid, kept current by list + watch.
  const present = new Set<string>(podByUid.keys());
  // On a node whose kubelet is gone (NotReady) nothing confirms termination: a pod whose
  // deletion grace period has run out counts as gone (kubectl's --skip-wait-for-delete-timeout);
  // the pod garbage collector removes it once the node is deleted.
  const kubeletGone = !isNodeReady(cordoned);
  const deletionAt = new Map<string, number>();
  const noteDeletion = (p: V1Pod) => {
    const ts = p.metadata?.deletionTimestamp;
    if (ts !== undefined && ts !== null) deletionAt.set(podKey(p), new Date(ts).getTime());
  };
  for (const p of pods) noteDeletion(p);
  const stillThere = (uid: string) =>
    present.has(uid) && !(kubeletGone && (deletionAt.get(uid) ?? Number.POSITIVE_INFINITY) <= Date.now());
  const remaining = () => [...targets.keys()].filter(stillThere);
  const waker = new Waker();
  const stop = new AbortController();
  const onAbort = () => stop.abort(signal?.reason);
  signal?.addEventListener('abort', onAbort, { once: true });

  let phase: DrainProgress['phase'] = 'evicting';
  let lastReport = 0;
  const report = (force = false) => {
    if (!opts.onProgress) return;
    const now = Date.now();
    if (!force && now - lastReport < PROGRESS_INTERVAL_MS / 4) return;
    lastReport = now;
    opts.onProgress({
      worker: name,
      phase,
      deadline: deadlineIso,
      total: targets.size,
      evicted: [...targets.values()].filter((t) => t.evicted).length,
      remaining: remaining().length,
      waitingOnPdb: [...targets.entries()]
        .filter(([uid, t]) => !t.evicted && t.pdb !== undefined && present.has(uid))
        .map(([, t]) => ({ namespace: t.entry.namespace, name: t.entry.name, pdb: t.pdb as string })),
    });
  };
  report(true);

  // Budgets, kept current by a WATCH while evictions run: a 429 is retried as soon as its
  // budget allows a disruption again instead of after a fixed delay (kubectl waits 5 s).
  const budgetOpened = new Waker();
  let pdbWatch: AbortController | undefined;
  if (targets.size > 0 && pdbs.length > 0) {
    try {
      const rvList = await kubeCall(k, 'list PodDisruptionBudgets', () =>
        k.policy.listPodDisruptionBudgetForAllNamespaces(),
      );
      pdbs = rvList.items;
      pdbWatch = await new Watch(k.kc).watch(
        '/apis/policy/v1/poddisruptionbudgets',
        { resourceVersion: rvList.metadata?.resourceVersion, allowWatchBookmarks: true },
        (type, obj) => {
          const pdb = obj as V1PodDisruptionBudget;
          const key = `${pdb.metadata?.namespace}/${pdb.metadata?.name}`;
          if (type === 'ADDED' || type === 'MODIFIED' || type === 'DELETED') {
            pdbs = pdbs.filter((p) => `${p.metadata?.namespace}/${p.metadata?.name}` !== key);
            if (type !== 'DELETED') pdbs.push(pdb);
            if (type === 'DELETED' || (pdb.status?.disruptionsAllowed ?? 0) > 0) budgetOpened.wake();
          }
        },
        () => undefined, // best effort: the timed retry still runs without it
      );
    } catch {
      pdbWatch = undefined;
    }
  }

  // 4. Evict with bounded concurrency.
  const queue = [...targets.values()].filter((t) => !t.evicted);
  const pastDeadline = () => deadlineMs !== null && Date.now() >= deadlineMs;
  const evictOne = async (t: Target): Promise<void> => {
    let transient = 0;
    while (!stop.signal.aborted && present.has(t.entry.uid)) {
      const own = t.pod.spec?.terminationGracePeriodSeconds;
      const grace =
        opts.gracePeriodSeconds < 0
          ? undefined
          : Math.min(opts.gracePeriodSeconds, own ?? opts.gracePeriodSeconds);
      try {
        await k.core.createNamespacedPodEviction({
          name: t.entry.name,
          namespace: t.entry.namespace,
          body: {
            apiVersion: 'policy/v1',
            kind: 'Eviction',
            metadata: { name: t.entry.name, namespace: t.entry.namespace },
            deleteOptions: {
              preconditions: { uid: t.entry.uid },
              ...(grace !== undefined ? { gracePeriodSeconds: grace } : {}),
            },
          },
        });
        t.evicted = true;
        delete t.pdb;
        report(true);
        return;
      } catch (err) {
        const status = statusOf(err);
        if (status === 404 || status === 409) {
          // Gone, or replaced by a pod with the same name and another uid: done with this one.
          present.delete(t.entry.uid);
          waker.wake();
          return;
        }
        if (status === 429 || (status === 500 && /disruption budget/i.test(messageOf(err)))) {
          const wasWaiting = t.pdb !== undefined;
          const covering = pdbsFor(t.pod, pdbs);
          t.pdb =
            covering.find((p) => (p.status?.disruptionsAllowed ?? 0) <= 0)?.metadata?.name ??
            covering[0]?.metadata?.name ??
            'unknown';
          report(!wasWaiting);
          if (pastDeadline()) return;
          const wait = opts.evictionRetrySeconds * 1000;
          // Retry after the configured wait, or as soon as a budget allows a disruption again.
          await budgetOpened.wait(
            deadlineMs === null ? wait : Math.min(wait, Math.max(0, deadlineMs - Date.now())),
            stop.signal,
          );
          if (pastDeadline()) return;
          continue;
        }
        const mapped = status === undefined || status >= 500;
        if (mapped && transient < TRANSIENT_RETRIES && !pastDeadline()) {
          transient += 1;
          await sleep(Math.min(10_000, 200 * 2 ** transient), stop.signal);
          continue;
        }
        throw err;
      }
    }
  };
  let evictionError: unknown;
  const workers = Array.from(
    { length: Math.max(1, Math.min(opts.maxConcurrentEvictions, queue.length)) },
    async () => {
      while (queue.length > 0 && !stop.signal.aborted) {
        await evictOne(queue.shift() as Target);
      }
    },
  );
  const evictions = Promise.all(workers)
    .catch((err: unknown) => {
      evictionError = err;
      stop.abort();
    })
    .finally(() => {
      phase = 'waiting';
      waker.wake();
    });

  // 5. Wait (WATCH on the node's pods) until every target is gone, or the deadline.
  let outcome: 'done' | 'deadline';
  try {
    outcome = await observe(k, {
      list: async () => {
        const [list, fresh] = await Promise.all([
          kubeCall(k, `list pods of node ${name}`, () =>
            k.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${name}` }),
          ),
          listPdbs(k),
        ]);
        pdbs = fresh;
        present.clear();
        for (const p of list.items) {
          present.add(podKey(p));
          noteDeletion(p);
        }
        return list.metadata?.resourceVersion ?? '';
      },
      path: '/api/v1/pods',
      query: { fieldSelector: `spec.nodeName=${name}` },
      onEvent: (type, obj) => {
        const uid = podKey(obj as V1Pod);
        if (type === 'DELETED') present.delete(uid);
        else {
          present.add(uid);
          noteDeletion(obj as V1Pod);
        }
        report();
      },
      isDone: () => evictionError !== undefined || remaining().length === 0,
      deadlineMs,
      signal: stop.signal,
      waker,
      onTick: () => report(true),
      tickMs: PROGRESS_INTERVAL_MS,
    });
  } catch (err) {
    stop.abort();
    await evictions;
    pdbWatch?.abort();
    signal?.removeEventListener('abort', onAbort);
    if (signal?.aborted) throw abortError(signal);
    throw err;
  }
  if (evictionError !== undefined) {
    pdbWatch?.abort();
    signal?.removeEventListener('abort', onAbort);
    throw evictionError;
  }
  stop.abort();
  await evictions;
  pdbWatch?.abort();

  const evicted = (): PodRef[] =>
    [...targets.entries()]
      .filter(([uid, t]) => t.evicted || !stillThere(uid))
      .map(([, t]) => ({ namespace: t.entry.namespace, name: t.entry.name }));

  if (outcome === 'done') {
    signal?.removeEventListener('abort', onAbort);
    phase = 'done';
    report(true);
    return { worker: name, completed: true, evicted: evicted(), skipped, blocked: [], forceDeleted: [] };
  }

  // 6. Deadline with pods left.
  const left = remaining().map((uid) => targets.get(uid) as Target);
  const leftRefs = (): PodRef[] =>
    left.map((t) => {
      const pdb =
        t.pdb ?? pdbsFor(t.pod, pdbs).find((p) => (p.status?.disruptionsAllowed ?? 0) <= 0)?.metadata?.name;
      const reason = t.evicted
        ? 'still terminating at the deadline'
        : pdb
          ? 'blocked by PodDisruptionBudget'
          : 'not evicted before the deadline';
      return { namespace: t.entry.namespace, name: t.entry.name, reason, ...(pdb ? { pdb } : {}) };
    });
  if (!opts.forceAfterDeadline) {
    signal?.removeEventListener('abort', onAbort);
    const blocked = leftRefs();
    const result: DrainWorkerResult = {
      worker: name,
      completed: false,
      evicted: evicted().filter(
        (r) => !blocked.some((b) => b.namespace === r.namespace && b.name === r.name),
      ),
      skipped,
      blocked,
      forceDeleted: [],
    };
    const list = blocked.map(
      (b) => `${b.namespace}/${b.name}${b.pdb ? ` (PodDisruptionBudget ${b.pdb})` : ''}`,
    );
    throw new WorkerError(
      ErrorCode.DrainTimeout,
      `drain of "${name}" reached its deadline ${deadlineIso} with ${blocked.length} pod(s) left: ${list.join(', ')}; the node stays cordoned`,
      { ...result },
    );
  }

  // forceAfterDeadline: delete what is left, bypassing budgets (Karpenter's termination deadline).
  phase = 'force_deleting';
  report(true);
  const forceDeleted: PodRef[] = [];
  for (const t of left) {
    try {
      await kubeCall(k, `delete pod ${t.entry.namespace}/${t.entry.name}`, () =>
        k.core.deleteNamespacedPod({
          name: t.entry.name,
          namespace: t.entry.namespace,
          body: { gracePeriodSeconds: FORCE_DELETE_GRACE_SECONDS, preconditions: { uid: t.entry.uid } },
        }),
      );
      forceDeleted.push({ namespace: t.entry.namespace, name: t.entry.name });
    } catch (err) {
      const status = statusOf(err);
      if (status !== 404 && status !== 409) throw err;
    }
  }
  const confirm = await observe(k, {
    list: async () => {
      const list = await listPodsOnNodeWithRv(k, name);
      present.clear();
      for (const p of list.items) present.add(podKey(p));
      return list.rv;
    },
    path: '/api/v1/pods',
    query: { fieldSelector: `spec.nodeName=${name}` },
    onEvent: (type, obj) => {
      if (type === 'DELETED') present.delete(podKey(obj as V1Pod));
    },
    isDone: () => left.every((t) => !present.has(t.entry.uid)),
    deadlineMs: Date.now() + FORCE_DELETE_WAIT_MS,
    signal,
  });
  signal?.removeEventListener('abort', onAbort);
  const forcedKeys = new Set(forceDeleted.map((r) => `${r.namespace}/${r.name}`));
  const result: DrainWorkerResult = {
    worker: name,
    completed: confirm === 'done',
    evicted: evicted().filter(
      (r) =>
        !forcedKeys.has(`${r.namespace}/${r.name}`) &&
        !left.some((t) => t.entry.name === r.name && t.entry.namespace === r.namespace),
    ),
    skipped,
    blocked:
      confirm === 'done'
        ? []
        : leftRefs().filter((r) => left.some((t) => t.entry.name === r.name && present.has(t.entry.uid))),
    forceDeleted,
  };
  phase = 'done';
  report(true);
  if (confirm !== 'done') {
    throw new WorkerError(
      ErrorCode.DrainTimeout,
      `drain of "${name}": pods deleted at the deadline did not disappear within ${FORCE_DELETE_WAIT_MS / 1000} s`,
      { ...result },
    );
  }
  return result;
}

async function listPodsOnNodeWithRv(k: KubeClients, name: string): Promise<{ items: V1Pod[]; rv: string }> {
  const list = await kubeCall(k, `list pods of node ${name}`, () =>
    k.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${name}` }),
  );
  return { items: list.items, rv: list.metadata?.resourceVersion ?? '' };
}
