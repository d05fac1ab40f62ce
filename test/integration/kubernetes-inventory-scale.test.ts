/**
 * Inventory at scale: 1,000 nodes and ~10,000 pods (bound directly with spec.nodeName,
 * no scheduler) come back correct from a constant number of API calls.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { INVENTORY_PAGE_SIZE, type KubeClients, listWorkers } from '../../activities/kubernetes/index.js';
import { defaultConfig } from '../../core/config.js';
import {
  burstMarks,
  clientsFromFile,
  containers,
  createNamespace,
  createNode,
  deleteNamespace,
  ISOLATION_KEY,
  mapLimit,
} from '../support/kube-fixtures.js';
import { kubeconfigPath, uniqueName } from '../support/stack.js';

const NODES = 1000;
const CONCURRENCY = 64;
const config = defaultConfig();
const g = uniqueName('scale');
const nodeName = (i: number) => `${g}-${String(i).padStart(4, '0')}`;
/** Node i carries i % 21 pods (9,948 in all), each requesting (i % 7 + 1) × 100m CPU and 1 Mi per pod. */
const podsOf = (i: number) => i % 21;
const cpuOf = (i: number) => ((i % 7) + 1) * 100;

let k: KubeClients & { calls: { method: string; path: string; query: string }[] };

beforeAll(async () => {
  k = clientsFromFile(kubeconfigPath(), true);
  await createNamespace(k, g);
  const idx = Array.from({ length: NODES }, (_, i) => i);
  await mapLimit(idx, CONCURRENCY, (i) =>
    createNode(k, {
      name: nodeName(i),
      group: g,
      ready: 'missing',
      ...(i % 10 === 0 ? burstMarks({ vmId: `vm-${i}`, ttlHours: String((i % 5) + 1) }) : {}),
    }),
  );
  const pods = idx.flatMap((i) => Array.from({ length: podsOf(i) }, (_, j) => ({ i, j })));
  await mapLimit(pods, CONCURRENCY, ({ i, j }) =>
    k.core.createNamespacedPod({
      namespace: g,
      body: {
        metadata: { name: `p-${i}-${j}` },
        spec: {
          nodeName: nodeName(i),
          tolerations: [{ operator: 'Exists' }],
          automountServiceAccountToken: false,
          containers: containers(`${cpuOf(i)}m`, '1Mi'),
        },
      },
    }),
  );
}, 240_000);

afterAll(async () => {
  if (!k) return;
  await deleteNamespace(k, g);
  await k.core.deleteCollectionNode({ labelSelector: `${ISOLATION_KEY}=${g}` });
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
      expect(w.podsRunning, w.name).toBe(podsOf(i));
      expect(w.requested.cpuMillis, w.name).toBe(podsOf(i) * cpuOf(i));
      expect(w.requested.memoryBytes, w.name).toBe(podsOf(i) * 2 ** 20);
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
