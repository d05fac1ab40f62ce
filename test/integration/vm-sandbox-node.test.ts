/**
 * The sandbox provider's VMs really become Nodes of the sandbox cluster: the hypervisor
 * registers a booted VM's Node (providerID, startup taint, kubelet labels, capacity; kwok
 * makes it Ready), and after the VM is deleted the Node goes NotReady and then disappears.
 */
import { CoreV1Api, type V1Node } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../activities/vm/faults.js';
import { SandboxVmProvider } from '../../activities/vm/sandbox.js';
import {
  KWOK_NODE_ANNOTATION,
  type SandboxHypervisor,
  startSandboxHypervisor,
  VM_DELETED_REASON,
} from '../../activities/vm/sandbox-hypervisor.js';
import { defaultConfig } from '../../core/config.js';
import { DEFAULT_BURST_LABEL_KEY, MANAGED_BY_LABEL, STARTUP_TAINT_KEY } from '../../core/labels.js';
import { kubeConfig, uniqueName } from '../support/stack.js';
import { smallSpec } from './vm-harness.js';

const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const namespace = uniqueName('vm-sandbox-node');
const config = defaultConfig();
const created: string[] = [];

async function readNode(name: string): Promise<V1Node | null> {
  try {
    return await core.readNode({ name });
  } catch (err) {
    if ((err as { code?: number }).code === 404) return null;
    throw err;
  }
}

async function until<T>(
  what: string,
  fn: () => Promise<T | null | undefined | false>,
  timeoutMs = 60_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

const ready = (n: V1Node | null) => n?.status?.conditions?.find((c) => c.type === 'Ready');

let hypervisors: SandboxHypervisor[] = [];
const errors: unknown[] = [];

beforeAll(() => {
  // Two hypervisors at once, as when two worker processes run: they must agree.
  hypervisors = [0, 1].map(() =>
    startSandboxHypervisor(kc, config, {
      namespace,
      bootSeconds: 1,
      slowBootSeconds: 0,
      nodeGcSeconds: 3,
      pollMs: 250,
      onError: (e) => errors.push(e),
    }),
  );
});

afterAll(async () => {
  await Promise.all(hypervisors.map((h) => h.stop()));
  for (const name of created) await core.deleteNode({ name }).catch(() => undefined);
  await core.deleteNamespace({ name: namespace }).catch(() => undefined);
});

const provider = (neverJoinRate = 0) =>
  new SandboxVmProvider(kc, { namespace, faults: { errorRate: 0, neverJoinRate }, random: seededRandom(5) });

describe('sandbox provider + hypervisor', () => {
  it('boots a VM into a Ready node and retires the node after the VM is deleted', async () => {
    const name = uniqueName('sbx-node');
    created.push(name);
    const vms = provider();
    const vm = await vms.createVm(smallSpec(name));
    // Not started: never registers.
    await new Promise((r) => setTimeout(r, 1500));
    expect(await readNode(name)).toBeNull();

    await vms.startVm(vm.id);
    const node = await until('the node to register', () => readNode(name));
    expect(node.spec?.providerID).toBe(vm.providerId);
    expect(node.spec?.providerID).toBe(`sandbox://${namespace}/${vm.id}`);
    expect(node.spec?.taints).toContainEqual(
      expect.objectContaining({ key: STARTUP_TAINT_KEY, effect: 'NoExecute' }),
    );
    expect(node.metadata?.labels).toMatchObject({
      'kubernetes.io/hostname': name,
      'kubernetes.io/os': 'linux',
      'kubernetes.io/arch': 'amd64',
      'node.kubernetes.io/instance-type': 'small',
    });
    // The node never writes the labels that decide reaping.
    expect(node.metadata?.labels?.[DEFAULT_BURST_LABEL_KEY]).toBeUndefined();
    expect(node.metadata?.labels?.[MANAGED_BY_LABEL]).toBeUndefined();
    expect(node.status?.capacity).toMatchObject({ cpu: '2', memory: '4Gi', pods: '110' });
    await until('kwok to make the node Ready', async () => ready(await readNode(name))?.status === 'True');

    // The state lives in the cluster: a fresh provider (a restarted worker) sees the VM.
    const restarted = provider();
    expect((await restarted.findVmByName(name))?.id).toBe(vm.id);

    await restarted.deleteVm(vm.id);
    const notReady = await until('the node to go NotReady', async () => {
      const n = await readNode(name);
      return n && ready(n)?.status !== 'True' ? n : null;
    });
    expect(ready(notReady)?.reason).toBe(VM_DELETED_REASON);
    expect(notReady.metadata?.annotations?.[KWOK_NODE_ANNOTATION]).toBeUndefined();
    await until('the node to be deleted', async () => (await readNode(name)) === null);
  });

  it('never deletes a node whose providerID is not a deleted sandbox VM of this namespace', async () => {
    const name = uniqueName('sbx-bystander');
    created.push(name);
    await core.createNode({
      body: {
        metadata: { name, annotations: { [KWOK_NODE_ANNOTATION]: 'fake' } },
        spec: { providerID: `sandbox://other-${namespace}/sb-000000000001` },
      },
    });
    for (const h of hypervisors) await h.reconcile();
    await new Promise((r) => setTimeout(r, 4000));
    for (const h of hypervisors) await h.reconcile();
    const n = await readNode(name);
    expect(n).not.toBeNull();
    expect(n?.metadata?.annotations?.[KWOK_NODE_ANNOTATION]).toBe('fake');
  });

  it('a VM that never joins (fault injection) runs but registers no node', async () => {
    const name = uniqueName('sbx-nojoin');
    created.push(name);
    const vms = provider(1);
    const vm = await vms.startVm((await vms.createVm(smallSpec(name))).id);
    expect(vm.state).toBe('running');
    await new Promise((r) => setTimeout(r, 2500));
    for (const h of hypervisors) await h.reconcile();
    expect(await readNode(name)).toBeNull();
    await vms.deleteVm(vm.id);
  });

  it('the hypervisors ran without errors', () => {
    expect(errors).toEqual([]);
  });
});
