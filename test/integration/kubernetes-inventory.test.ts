import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  cordonNode,
  getWorker,
  type KubeClients,
  listWorkers,
  uncordonNode,
  type WorkerSummary,
} from '../../activities/kubernetes/index.js';
import { defaultConfig } from '../../core/config.js';
import { ErrorCode } from '../../core/errors.js';
import { DRAIN_STARTED_ANNOTATION, MIRROR_POD_ANNOTATION } from '../../core/labels.js';
import {
  burstMarks,
  clientsFromFile,
  createBarePod,
  createNamespace,
  createNode,
  deleteNamespace,
  deleteNodeQuietly,
} from '../support/kube-fixtures.js';
import { kubeconfigPath, uniqueName } from '../support/stack.js';

const config = defaultConfig();
let k: KubeClients;
const g = uniqueName('inv');
const ns = g;
const n = (s: string) => `${g}-${s}`;
const protectedName = `permanent-${g}`;
const names: string[] = [];
const inTwoHours = new Date(Date.now() + 2 * 3600_000).toISOString();

beforeAll(async () => {
  k = clientsFromFile(kubeconfigPath());
  await createNamespace(k, ns);
  const burst = burstMarks({ vmId: 'vm-42', ttlHours: '24', expiresAt: inTwoHours });
  const expired = burstMarks({ vmId: 'vm-43', ttlHours: '1.5h', expiresAt: '2020-01-01T00:00:00Z' });
  const fixtures = [
    { name: n('ready') },
    { name: n('busy') },
    { name: n('cordoned'), unschedulable: true },
    {
      name: n('draining'),
      unschedulable: true,
      annotations: { [DRAIN_STARTED_ANNOTATION]: new Date().toISOString() },
    },
    {
      name: n('drained'),
      unschedulable: true,
      annotations: { [DRAIN_STARTED_ANNOTATION]: new Date().toISOString() },
    },
    { name: n('notready'), ready: false as const },
    { name: n('mirror') },
    { name: n('burst'), ...burst, providerId: `sandbox://${g}` },
    { name: n('burst-expired'), ...expired },
    // Burst label without this system's ownership marks: permanent.
    { name: n('half'), labels: { 'worker-type': 'burst' } },
    { name: protectedName },
  ];
  for (const f of fixtures) {
    names.push(f.name);
    await createNode(k, f);
  }
  await createBarePod(k, ns, 'busy-1', n('busy'));
  await createBarePod(k, ns, 'draining-1', n('draining'));
  await createBarePod(k, ns, 'mirror-1', n('mirror'), { annotations: { [MIRROR_POD_ANNOTATION]: 'x' } });
  await createBarePod(k, ns, 'burst-1', n('burst'));
  await createBarePod(k, ns, 'burst-2', n('burst'));
});

afterAll(async () => {
  if (!k) return;
  await deleteNamespace(k, ns);
  for (const name of names) await deleteNodeQuietly(k, name);
});

function byName(list: WorkerSummary[]): Map<string, WorkerSummary> {
  return new Map(list.map((w) => [w.name, w]));
}

describe('listWorkers', () => {
  it('classifies type and every status by the documented rule', async () => {
    const all = byName(await listWorkers(k, config));
    const status = (s: string) => all.get(n(s))?.status;
    expect(status('ready')).toBe('ready');
    expect(status('busy')).toBe('busy');
    expect(status('cordoned')).toBe('cordoned');
    expect(status('draining')).toBe('draining');
    // A drain that left no workload pod is a cordoned node.
    expect(status('drained')).toBe('cordoned');
    expect(status('notready')).toBe('not_ready');
    // Mirror pods are not workload.
    expect(status('mirror')).toBe('ready');
    expect(all.get(n('mirror'))?.podsRunning).toBe(1);

    expect(all.get(n('burst'))?.type).toBe('burst');
    expect(all.get(n('burst-expired'))?.type).toBe('burst');
    expect(all.get(n('half'))?.type).toBe('permanent');
    expect(all.get(n('ready'))?.type).toBe('permanent');
    expect(all.get(n('ready'))?.ttl).toBeNull();
    expect(all.get(protectedName)?.protected).toBe(true);
    expect(all.get(n('ready'))?.protected).toBe(false);
  });

  it('reports resources, pods, TTL, VM id and providerID', async () => {
    const now = new Date();
    const all = byName(await listWorkers(k, config, { type: 'burst' }, now));
    const burst = all.get(n('burst'));
    expect(burst).toBeDefined();
    expect(burst?.capacity).toEqual({ cpu: '32', memory: '64Gi', pods: '110' });
    expect(burst?.allocatable.pods).toBe('110');
    expect(burst?.podsRunning).toBe(2);
    expect(burst?.requested).toEqual({ cpuMillis: 20, memoryBytes: 2 * 16 * 2 ** 20 });
    expect(burst?.vmId).toBe('vm-42');
    expect(burst?.providerId).toBe(`sandbox://${g}`);
    expect(burst?.ttl?.ttlHours).toBe(24);
    expect(burst?.ttl?.expiresAt).toBe(inTwoHours);
    expect(burst?.ttl?.expired).toBe(false);
    expect(burst?.ttl?.secondsRemaining).toBeGreaterThan(7000);
    expect(burst?.ageSeconds).toBeGreaterThanOrEqual(0);
    expect(burst?.createdAt).toMatch(/^\d{4}-\d{2}-\d{2}T/);
    const expired = all.get(n('burst-expired'));
    expect(expired?.ttl).toMatchObject({ ttlHours: 1.5, expired: true });
    expect(expired?.ttl?.secondsRemaining).toBeLessThan(0);
    // The burst filter leaves permanent workers out.
    expect(all.has(n('ready'))).toBe(false);
    const permanent = byName(await listWorkers(k, config, { type: 'permanent' }));
    expect(permanent.has(n('ready'))).toBe(true);
    expect(permanent.has(n('burst'))).toBe(false);
  });
});

describe('getWorker', () => {
  it('returns details with uid, taints, conditions, addresses and pods', async () => {
    const w = await getWorker(k, config, n('burst'));
    expect(w.uid).toMatch(/[0-9a-f-]{36}/);
    expect(w.conditions.find((c) => c.type === 'Ready')?.status).toBe('True');
    expect(w.addresses).toEqual([{ type: 'InternalIP', address: '10.0.0.1' }]);
    expect(w.pods.map((p) => p.name)).toEqual(['burst-1', 'burst-2']);
    expect(w.pods[0]).toMatchObject({ namespace: ns, phase: 'Pending' });
    expect(w.type).toBe('burst');
  });

  it('unknown worker is WorkerNotFound', async () => {
    await expect(getWorker(k, config, n('nope'))).rejects.toMatchObject({ code: ErrorCode.WorkerNotFound });
  });
});

describe('cordon / uncordon', () => {
  it('is idempotent and uncordon forgets a started drain', async () => {
    await cordonNode(k, n('ready'));
    await cordonNode(k, n('ready'));
    expect((await getWorker(k, config, n('ready'))).status).toBe('cordoned');
    await uncordonNode(k, n('drained'));
    await uncordonNode(k, n('drained'));
    const w = await getWorker(k, config, n('drained'));
    expect(w.unschedulable).toBe(false);
    expect(w.annotations[DRAIN_STARTED_ANNOTATION]).toBeUndefined();
    await expect(cordonNode(k, n('nope'))).rejects.toMatchObject({ code: ErrorCode.WorkerNotFound });
  });
});
