/**
 * Inventory at scale: 1,000 nodes and ~10,000 pods (bound directly with spec.nodeName,
 * no scheduler) come back correct from a constant number of API calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INVENTORY_PAGE_SIZE, type KubeClients, listWorkers } from '../../activities/kubernetes/index.js';
import { defaultConfig } from '../../core/config.js';
import {
  cleanupScale,
  clientsFromFile,
  scaleCpuOf,
  scalePodsOf,
  seedScale,
} from '../support/kube-fixtures.js';
import { kubeconfigPath, uniqueName } from '../support/stack.js';

const NODES = 1000;
const g = uniqueName('scale');
// A burst label of this suite's own: its 100 burst nodes are nobody else's burst workers.
const burstLabel = { key: 'worker-type', value: g };
const base = defaultConfig();
const config = { ...base, burst_workers: { ...base.burst_workers, label: burstLabel } };

let k: KubeClients & { calls: { method: string; path: string; query: string }[] };

// Creating ~11,000 objects dominates this suite; listing itself takes seconds.
beforeAll(async () => {
  k = clientsFromFile(kubeconfigPath(), true);
  await seedScale(k, g, NODES, { burstLabel });
}, 300_000);

afterAll(async () => {
  if (k) await cleanupScale(k, g);
}, 120_000);

describe('listWorkers at 1,000 nodes / ~10,000 pods', () => {
  it('returns correct data from one node LIST and one pod LIST (paginated), no call per node', async () => {
    k.calls.length = 0;
    const workers = await listWorkers(k, config);
    const calls = [...k.calls];

    const mine = workers.filter((w) => w.name.startsWith(`${g}-`));
    expect(mine).toHaveLength(NODES);
    for (const w of mine) {
      const i = Number(w.name.slice(g.length + 1));
      expect(w.podsRunning, w.name).toBe(scalePodsOf(i));
      expect(w.requested.cpuMillis, w.name).toBe(scalePodsOf(i) * scaleCpuOf(i));
      expect(w.requested.memoryBytes, w.name).toBe(scalePodsOf(i) * 2 ** 20);
      expect(w.type, w.name).toBe(i % 10 === 0 ? 'burst' : 'permanent');
      if (i % 10 === 0) expect(w.ttl?.ttlHours, w.name).toBe((i % 5) + 1);
      expect(w.status, w.name).toBe('not_ready');
    }

    const totalPods = workers.reduce((acc, w) => acc + w.podsRunning, 0);
    expect(totalPods).toBeGreaterThanOrEqual(9948);
    const nodeLists = calls.filter((c) => c.method === 'GET' && c.path === '/api/v1/nodes');
    const podLists = calls.filter((c) => c.method === 'GET' && c.path === '/api/v1/pods');
    // Nothing else: in particular no per-node GET and no per-node pod LIST.
    expect(calls.length).toBe(nodeLists.length + podLists.length);
    expect(nodeLists.length).toBe(Math.max(1, Math.ceil(workers.length / INVENTORY_PAGE_SIZE)));
    expect(podLists.length).toBeGreaterThanOrEqual(1);
    expect(podLists.length).toBeLessThanOrEqual(Math.ceil(totalPods / INVENTORY_PAGE_SIZE) + 1);
    expect(calls.length).toBeLessThanOrEqual(8);
  });
});
