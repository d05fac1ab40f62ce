/**
 * The sandbox hypervisor: boots the sandbox provider's simulated VMs.
 *
 * A reconcile loop, safe to run in several processes at once (every write is idempotent or
 * guarded by a uid precondition):
 * - a running VM whose boot time has passed registers its Node as a kubelet would: the
 *   VM's name, providerID `sandbox://<namespace>/<id>`, the startup taint, kubelet labels,
 *   capacity from its size, and the kwok annotation so kwok makes it Ready and runs its
 *   pods. It never writes this system's burst or ownership labels (those are written
 *   later by the workflows, as for a Talos node).
 * - a Node whose VM is gone goes NotReady (kwok annotation removed, Ready=Unknown through
 *   the status subresource) and, after `node_gc_seconds` (0 = never), is deleted, as a
 *   cloud node-lifecycle controller would, only if its providerID is the deleted VM's.
 */
import {
  CoreV1Api,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
  type V1Node,
} from '@kubernetes/client-node';
import type { Config } from '../../core/config.js';
import { STARTUP_TAINT_KEY } from '../../core/labels.js';
import { sleep } from './common.js';
import { listRecords, type SandboxVmRecord, sandboxProviderId, statusOf } from './sandbox-state.js';

export const KWOK_NODE_ANNOTATION = 'kwok.x-k8s.io/node';
export const VM_DELETED_REASON = 'VmDeleted';
/** Which sandbox (namespace) registered a node; lets the hypervisor list only its nodes. */
export const SANDBOX_HYPERVISOR_LABEL = 'sandbox.burst-workers.io/hypervisor';

export interface SandboxHypervisorOptions {
  /** Overrides of config provider.sandbox (tests). */
  namespace?: string;
  bootSeconds?: number;
  slowBootSeconds?: number;
  nodeGcSeconds?: number;
  pollMs?: number;
  /** Called with each failed pass (the loop keeps going). */
  onError?: (err: unknown) => void;
}

export interface SandboxHypervisor {
  stop(): Promise<void>;
  /** Runs one pass now (tests). */
  reconcile(): Promise<void>;
}

export function nodeFor(namespace: string, vm: SandboxVmRecord): V1Node {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: vm.name,
      annotations: { [KWOK_NODE_ANNOTATION]: 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': vm.name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'beta.kubernetes.io/os': 'linux',
        'beta.kubernetes.io/arch': 'amd64',
        'node.kubernetes.io/instance-type': vm.sizeName,
        type: 'kwok',
        [SANDBOX_HYPERVISOR_LABEL]: namespace,
      },
    },
    spec: {
      providerID: sandboxProviderId(namespace, vm.id),
      taints: [{ key: STARTUP_TAINT_KEY, value: 'true', effect: 'NoExecute' }],
    },
    status: {
      capacity: {
        cpu: String(vm.cpu),
        memory: `${vm.memoryGb}Gi`,
        pods: '110',
        'ephemeral-storage': `${vm.diskGb}Gi`,
      },
      allocatable: {
        cpu: String(vm.cpu),
        memory: `${vm.memoryGb}Gi`,
        pods: '110',
        'ephemeral-storage': `${vm.diskGb}Gi`,
      },
      nodeInfo: {
        architecture: 'amd64',
        operatingSystem: 'linux',
        kubeletVersion: 'fake',
        kubeProxyVersion: 'fake',
        containerRuntimeVersion: 'sandbox://',
        kernelVersion: '',
        osImage: 'sandbox VM',
        bootID: vm.id,
        machineID: vm.id,
        systemUUID: vm.id,
      },
    },
  };
}

function readyCondition(node: V1Node) {
  return node.status?.conditions?.find((c) => c.type === 'Ready');
}

export function startSandboxHypervisor(
  kc: KubeConfig,
  config: Config,
  opts: SandboxHypervisorOptions = {},
): SandboxHypervisor {
  const core = kc.makeApiClient(CoreV1Api);
  const sb = config.provider.sandbox;
  const namespace = opts.namespace ?? sb.namespace;
  const bootMs =
    ((opts.bootSeconds ?? sb.boot_seconds) + (opts.slowBootSeconds ?? sb.fault.slow_boot_seconds)) * 1000;
  const gcMs = (opts.nodeGcSeconds ?? sb.node_gc_seconds) * 1000;
  const pollMs = opts.pollMs ?? sb.poll_seconds * 1000;
  const prefix = `sandbox://${namespace}/`;
  const abort = new AbortController();

  const ignore =
    (...codes: number[]) =>
    (err: unknown) => {
      if (!codes.includes(statusOf(err) ?? 0)) throw err;
    };

  async function register(vm: SandboxVmRecord, existing: V1Node | undefined): Promise<void> {
    if (existing) return; // registered already (or the name is held by an old node until it is collected)
    await core.createNode({ body: nodeFor(namespace, vm) }).catch(ignore(409));
  }

  async function retire(node: V1Node, now: number): Promise<void> {
    const name = node.metadata?.name ?? '';
    const ready = readyCondition(node);
    if (
      node.metadata?.annotations?.[KWOK_NODE_ANNOTATION] !== undefined ||
      ready?.reason !== VM_DELETED_REASON
    ) {
      // The VM is gone: kwok stops acting as its kubelet, and the node reports NotReady.
      await core
        .patchNode(
          { name, body: { metadata: { annotations: { [KWOK_NODE_ANNOTATION]: null } } } },
          setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
        )
        .catch(ignore(404));
      const at = new Date(now).toISOString();
      await core
        .patchNodeStatus(
          {
            name,
            body: {
              status: {
                conditions: [
                  {
                    type: 'Ready',
                    status: 'Unknown',
                    reason: VM_DELETED_REASON,
                    message: 'the sandbox VM of this node was deleted',
                    lastHeartbeatTime: at,
                    lastTransitionTime: at,
                  },
                ],
              },
            },
          },
          setHeaderOptions('Content-Type', PatchStrategy.StrategicMergePatch),
        )
        .catch(ignore(404));
      return;
    }
    if (gcMs <= 0) return;
    const since = ready.lastTransitionTime ? new Date(ready.lastTransitionTime).getTime() : now;
    if (now - since < gcMs) return;
    await core
      .deleteNode({ name, body: { preconditions: { uid: node.metadata?.uid ?? '' } } })
      .catch(ignore(404, 409));
  }

  async function reconcile(): Promise<void> {
    const now = Date.now();
    const vms = await listRecords(core, namespace).catch((err: unknown) => {
      if (statusOf(err) === 404) return [];
      throw err;
    });
    const nodes = (await core.listNode({ labelSelector: `${SANDBOX_HYPERVISOR_LABEL}=${namespace}` })).items;
    const byName = new Map(nodes.map((n) => [n.metadata?.name ?? '', n]));
    const liveIds = new Set(vms.map(({ vm }) => vm.id));
    for (const { vm } of vms) {
      if (vm.state !== 'running' || vm.neverJoin || !vm.startedAt) continue;
      if (new Date(vm.startedAt).getTime() + bootMs > now) continue;
      // A name held by a node that is not ours (409 on create) is never registered over.
      await register(vm, byName.get(vm.name));
    }
    for (const node of nodes) {
      const providerId = node.spec?.providerID ?? '';
      if (!providerId.startsWith(prefix)) continue;
      if (liveIds.has(providerId.slice(prefix.length))) continue;
      await retire(node, now);
    }
  }

  const loop = (async () => {
    while (!abort.signal.aborted) {
      try {
        await reconcile();
      } catch (err) {
        opts.onError?.(err);
      }
      await sleep(pollMs, abort.signal);
    }
  })();

  return {
    reconcile,
    async stop() {
      abort.abort();
      await loop;
    },
  };
}
