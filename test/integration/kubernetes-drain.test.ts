/**
 * Drain against the real apiserver + kwok: kubectl's filters, Eviction API, and
 * replacement of evicted pods elsewhere.
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
import { DRAIN_STARTED_ANNOTATION, MIRROR_POD_ANNOTATION } from '../../core/labels.js';
import {
  clientsFromFile,
  createBarePod,
  createDaemonSet,
  createDeployment,
  createNamespace,
  createNode,
  deleteNamespace,
  deleteNodeQuietly,
  eventually,
  podsOn,
  waitRunning,
} from '../support/kube-fixtures.js';
import { kubeconfigPath, uniqueName } from '../support/stack.js';

const config = defaultConfig();
let k: KubeClients;
let g: string;
let nodes: string[];

function opts(over: Partial<DrainOptions> = {}): DrainOptions {
  return resolveDrainOptions(config, {
    timeoutSeconds: 60,
    evictionRetrySeconds: 1,
    gracePeriodSeconds: 1,
    ...over,
  });
}

async function node(suffix: string): Promise<string> {
  const name = `${g}-${suffix}`;
  nodes.push(name);
  await createNode(k, { name, group: g, kwok: true });
  return name;
}

async function drainError(p: Promise<unknown>): Promise<WorkerError> {
  try {
    await p;
  } catch (err) {
    if (err instanceof WorkerError) return err;
    throw err;
  }
  throw new Error('expected the drain to fail');
}

beforeEach(async () => {
  k ??= clientsFromFile(kubeconfigPath());
  g = uniqueName('drain');
  nodes = [];
  await createNamespace(k, g);
});

afterEach(async () => {
  await deleteNamespace(k, g);
  for (const n of nodes) await deleteNodeQuietly(k, n);
});

describe('drainNode', () => {
  it('evicts Deployment pods (recreated elsewhere), skips DaemonSet and mirror pods', async () => {
    const a = await node('a');
    await createDeployment(k, g, 'web', { group: g, replicas: 3 });
    await createDaemonSet(k, g, 'agent', g);
    await createBarePod(k, g, 'static', a, { annotations: { [MIRROR_POD_ANNOTATION]: 'mirror' } });
    await waitRunning(k, g, 'web', 3);
    await waitRunning(k, g, 'agent', 1);
    const b = await node('b');
    await waitRunning(k, g, 'agent', 2);

    const plan = await planDrain(k, config, a, opts());
    const action = (prefix: string) =>
      plan.entries.filter((e) => e.name.startsWith(prefix)).map((e) => e.action);
    expect(action('web-')).toEqual(['evict', 'evict', 'evict']);
    expect(plan.entries.find((e) => e.name.startsWith('agent-'))).toMatchObject({
      action: 'skip',
      reason: 'daemonset',
    });
    expect(plan.entries.find((e) => e.name === 'static')).toMatchObject({
      action: 'skip',
      reason: 'mirror_pod',
    });
    expect(plan.refused).toBe(false);

    const progress: string[] = [];
    const result = await drainNode(k, config, a, { ...opts(), onProgress: (p) => progress.push(p.phase) });
    expect(result.completed).toBe(true);
    expect(result.evicted.map((p) => p.name).sort()).toEqual(
      plan.entries
        .filter((e) => e.action === 'evict')
        .map((e) => e.name)
        .sort(),
    );
    expect(result.skipped.map((p) => p.reason).sort()).toEqual(['daemonset', 'mirror_pod']);
    expect(progress).toContain('done');

    const left = await podsOn(k, a, g);
    expect(left.filter((p) => p.metadata?.name?.startsWith('web-'))).toHaveLength(0);
    expect(left.filter((p) => p.metadata?.name?.startsWith('agent-'))).toHaveLength(1);
    const replaced = await waitRunning(k, g, 'web', 3);
    expect(replaced.every((p) => p.spec?.nodeName === b)).toBe(true);
    const drained = await getNodeOrNull(k, a);
    expect(drained?.spec?.unschedulable).toBe(true);
    expect(drained?.metadata?.annotations?.[DRAIN_STARTED_ANNOTATION]).toBeDefined();
  });

  it('refuses emptyDir pods without deleteEmptydirData, evicts them with it', async () => {
    const a = await node('a');
    await createDeployment(k, g, 'cache', { group: g, replicas: 1, emptyDir: true });
    const [pod] = await waitRunning(k, g, 'cache', 1);

    const err = await drainError(drainNode(k, config, a, opts({ deleteEmptydirData: false })));
    expect(err.code).toBe(ErrorCode.DrainBlocked);
    expect(err.details?.blocked).toEqual([
      { namespace: g, name: pod?.metadata?.name, reason: 'emptydir_data' },
    ]);
    // Refused before anything was touched.
    expect((await getNodeOrNull(k, a))?.spec?.unschedulable).toBeUndefined();
    expect((await podsOn(k, a, g)).map((p) => p.metadata?.uid)).toEqual([pod?.metadata?.uid]);

    const result = await drainNode(k, config, a, opts({ deleteEmptydirData: true }));
    expect(result.completed).toBe(true);
    expect(result.evicted.map((p) => p.name)).toEqual([pod?.metadata?.name]);
    expect(await podsOn(k, a, g)).toHaveLength(0);
  });

  it('refuses a bare pod without force, evicts it with force', async () => {
    const a = await node('a');
    await createBarePod(k, g, 'lonely', a);
    await eventually(
      async () => (await podsOn(k, a, g))[0]?.status?.phase === 'Running',
      60_000,
      'bare pod running',
    );

    const err = await drainError(drainNode(k, config, a, opts({ force: false })));
    expect(err.code).toBe(ErrorCode.DrainBlocked);
    expect(err.details?.blocked).toEqual([{ namespace: g, name: 'lonely', reason: 'no_controller' }]);
    expect(err.message).toContain('lonely');

    const result = await drainNode(k, config, a, opts({ force: true }));
    expect(result.evicted).toEqual([{ namespace: g, name: 'lonely' }]);
    expect(await podsOn(k, a, g)).toHaveLength(0);
  });

  it('refuses DaemonSet pods unless ignoreDaemonsets', async () => {
    const a = await node('a');
    await createDaemonSet(k, g, 'agent', g);
    await waitRunning(k, g, 'agent', 1);
    const err = await drainError(drainNode(k, config, a, opts({ ignoreDaemonsets: false })));
    expect(err.code).toBe(ErrorCode.DrainBlocked);
    expect(err.details?.blocked).toMatchObject([{ reason: 'daemonset_not_ignored' }]);
  });

  it('an unknown node is WorkerNotFound', async () => {
    await expect(drainNode(k, config, `${g}-nope`, opts())).rejects.toMatchObject({
      code: ErrorCode.WorkerNotFound,
    });
    await expect(planDrain(k, config, `${g}-nope`, opts())).rejects.toMatchObject({
      code: ErrorCode.WorkerNotFound,
    });
  });
});
