/**
 * Drain under PodDisruptionBudgets and deadlines, restarted half-way, and on a NotReady node.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  type DrainOptions,
  drainNode,
  getNodeOrNull,
  type KubeClients,
  planDrain,
  resolveDrainOptions,
} from '../../activities/kubernetes/index.js';
import { defaultConfig } from '../../core/config.js';
import { ErrorCode, WorkerError } from '../../core/errors.js';
import { DRAIN_STARTED_ANNOTATION } from '../../core/labels.js';
import type { PodRef } from '../../core/operations.js';
import {
  clientsFromFile,
  createDeployment,
  createNamespace,
  createNode,
  createPdb,
  deleteNamespace,
  deleteNodeQuietly,
  eventually,
  podsOn,
  setNodeReady,
  waitRunning,
} from '../support/kube-fixtures.js';
import { kubeconfigPath, uniqueName } from '../support/stack.js';

const config = defaultConfig();
let k: KubeClients;
let g: string;
let nodes: string[];

function opts(over: Partial<DrainOptions> = {}): DrainOptions {
  return resolveDrainOptions(config, {
    timeoutSeconds: 90,
    evictionRetrySeconds: 1,
    gracePeriodSeconds: 1,
    ...over,
  });
}

async function node(suffix: string, kwok = true): Promise<string> {
  const name = `${g}-${suffix}`;
  nodes.push(name);
  await createNode(k, { name, group: g, kwok });
  return name;
}

async function failure(p: Promise<unknown>): Promise<WorkerError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof WorkerError) return err;
    throw err;
  }
  throw new Error('expected the drain to fail');
}

/** Waits until the disruption controller has computed the budget. */
async function pdbSettled(name: string, expectedPods: number, allowed: number): Promise<void> {
  await eventually(
    async () => {
      const p = await k.policy.readNamespacedPodDisruptionBudget({ name, namespace: g });
      return (
        p.status?.observedGeneration === p.metadata?.generation &&
        p.status?.expectedPods === expectedPods &&
        p.status?.disruptionsAllowed === allowed
      );
    },
    60_000,
    `PDB ${name} settled`,
  );
}

beforeEach(async () => {
  k ??= clientsFromFile(kubeconfigPath());
  g = uniqueName('pdb');
  nodes = [];
  await createNamespace(k, g);
});

afterEach(async () => {
  await deleteNamespace(k, g);
  for (const n of nodes) await deleteNodeQuietly(k, n);
});

describe('drainNode with PodDisruptionBudgets', () => {
  it('maxUnavailable 0 blocks until the deadline; the report names the budget; the node stays cordoned', async () => {
    const a = await node('a');
    await createDeployment(k, g, 'db', { group: g, replicas: 2 });
    const pods = await waitRunning(k, g, 'db', 2);
    await createPdb(k, g, 'db-pdb', 'db', { maxUnavailable: 0 });
    await pdbSettled('db-pdb', 2, 0);

    const plan = await planDrain(k, config, a, opts());
    expect(plan.entries.map((e) => [e.action, e.pdb])).toEqual([
      ['blocked', 'db-pdb'],
      ['blocked', 'db-pdb'],
    ]);
    expect(plan.refused).toBe(false);

    const seen: PodRef[][] = [];
    const err = await failure(
      drainNode(k, config, a, {
        ...opts({ timeoutSeconds: 4 }),
        onProgress: (p) => seen.push(p.waitingOnPdb),
      }),
    );
    expect(err.code).toBe(ErrorCode.DrainTimeout);
    const blocked = err.details?.blocked as PodRef[];
    expect(blocked.map((b) => b.name).sort()).toEqual(pods.map((p) => p.metadata?.name).sort());
    expect(blocked.every((b) => b.pdb === 'db-pdb')).toBe(true);
    expect(err.message).toContain('db-pdb');
    expect(err.details?.completed).toBe(false);
    expect(seen.some((w) => w.length === 2)).toBe(true);
    expect((await getNodeOrNull(k, a))?.spec?.unschedulable).toBe(true);
    expect(await podsOn(k, a, g)).toHaveLength(2);

    // forceAfterDeadline: the remaining pods are deleted at the deadline, bypassing the budget.
    const forced = await drainNode(k, config, a, opts({ timeoutSeconds: 2, forceAfterDeadline: true }));
    expect(forced.completed).toBe(true);
    expect(forced.forceDeleted.map((p) => p.name).sort()).toEqual(pods.map((p) => p.metadata?.name).sort());
    const left = await podsOn(k, a, g);
    expect(left.filter((p) => pods.some((o) => o.metadata?.uid === p.metadata?.uid))).toHaveLength(0);
  });

  it('a budget allowing one disruption drains one pod at a time', async () => {
    const a = await node('a');
    await createDeployment(k, g, 'web', { group: g, replicas: 3 });
    await waitRunning(k, g, 'web', 3);
    await createPdb(k, g, 'web-pdb', 'web', { maxUnavailable: 1 });
    await pdbSettled('web-pdb', 3, 1);

    // Node b, where the replacements can run, appears only once the budget has refused an
    // eviction: until then the first replacement stays Pending and the budget stays closed,
    // so the refusal does not depend on how fast the controllers are.
    let nodeB: Promise<string> | undefined;
    let refusedWhileEvicted = -1;
    let maxEvicted = 0;
    let minHealthy = Number.POSITIVE_INFINITY;
    const sample = setInterval(async () => {
      try {
        const p = await k.policy.readNamespacedPodDisruptionBudget({ name: 'web-pdb', namespace: g });
        minHealthy = Math.min(minHealthy, p.status?.currentHealthy ?? Number.POSITIVE_INFINITY);
      } catch {
        // ignore
      }
    }, 100);
    let result: Awaited<ReturnType<typeof drainNode>>;
    try {
      result = await drainNode(k, config, a, {
        ...opts({ evictionRetrySeconds: 30 }), // a refused eviction waits for the budget's WATCH
        onProgress: (p) => {
          maxEvicted = Math.max(maxEvicted, p.evicted);
          if (p.waitingOnPdb.length > 0 && nodeB === undefined) {
            refusedWhileEvicted = p.evicted;
            expect(p.waitingOnPdb.every((w) => w.pdb === 'web-pdb')).toBe(true);
            nodeB = node('b');
          }
        },
      });
    } finally {
      clearInterval(sample);
      await nodeB;
    }
    expect(result.completed).toBe(true);
    expect(result.evicted).toHaveLength(3);
    // The budget refused (429) while at most one eviction had gone through (the answers
    // of concurrent evictions may arrive in either order)...
    expect(nodeB).toBeDefined();
    expect(refusedWhileEvicted).toBeGreaterThanOrEqual(0);
    expect(refusedWhileEvicted).toBeLessThanOrEqual(1);
    // ...and retried as the budget reopened.
    expect(maxEvicted).toBe(3);
    expect(minHealthy).toBeGreaterThanOrEqual(2);
    expect((await podsOn(k, a, g)).filter((p) => p.metadata?.labels?.app === 'web')).toHaveLength(0);
    await waitRunning(k, g, 'web', 3);
  });

  it('a drain restarted half-way continues from the node’s real state', async () => {
    const a = await node('a');
    await createDeployment(k, g, 'web', { group: g, replicas: 3 });
    await waitRunning(k, g, 'web', 3);
    await createPdb(k, g, 'web-pdb', 'web', { maxUnavailable: 1 });
    await pdbSettled('web-pdb', 3, 1);

    // No node for the replacements yet: after one eviction the budget stays closed, so the
    // evictions still in flight when the drain stops are refused whatever the timing.
    const stop = new AbortController();
    const first = drainNode(k, config, a, {
      ...opts(),
      signal: stop.signal,
      onProgress: (p) => {
        if (p.evicted >= 1) stop.abort(new Error('worker crashed'));
      },
    });
    await expect(first).rejects.toThrow('worker crashed');
    const half = await getNodeOrNull(k, a);
    const started = half?.metadata?.annotations?.[DRAIN_STARTED_ANNOTATION];
    expect(half?.spec?.unschedulable).toBe(true);
    expect(started).toBeDefined();
    const stillThere = (await podsOn(k, a, g)).filter((p) => !p.metadata?.deletionTimestamp);
    expect(stillThere.length).toBeGreaterThan(0);
    expect(stillThere.length).toBeLessThan(3);

    await node('b');
    const second = await drainNode(k, config, a, opts());
    expect(second.completed).toBe(true);
    expect(await podsOn(k, a, g)).toHaveLength(0);
    // The original start is kept.
    expect((await getNodeOrNull(k, a))?.metadata?.annotations?.[DRAIN_STARTED_ANNOTATION]).toBe(started);

    // Once more on a drained node: nothing to do, done at once.
    const third = await drainNode(k, config, a, opts());
    expect(third).toMatchObject({ completed: true, evicted: [], blocked: [] });
  });

  it('drains a NotReady node: evicted pods whose grace period ran out count as gone', async () => {
    const c = await node('c', false);
    await createDeployment(k, g, 'job', { group: g, replicas: 2 });
    // No kubelet: the pods are bound but never run.
    await eventually(async () => (await podsOn(k, c, g)).length === 2, 60_000, 'pods bound to the node');
    await setNodeReady(k, c, false);

    const result = await drainNode(k, config, c, opts({ timeoutSeconds: 60 }));
    expect(result.completed).toBe(true);
    expect(result.evicted).toHaveLength(2);
    const left = await podsOn(k, c, g);
    expect(left.every((p) => p.metadata?.deletionTimestamp !== undefined)).toBe(true);
  });
});
