/**
 * Worker inventory: every node with its type, status, resources, pods and TTL.
 * Listing costs one paginated node LIST and one paginated pod LIST, whatever the
 * node count; classification is the pure code of core/worker.ts and core/drain.ts.
 */
import type { V1Node, V1Pod } from '@kubernetes/client-node';
import type { Config } from '../../core/config.js';
import { isWorkloadPod, podRequests } from '../../core/drain.js';
import { ErrorCode, WorkerError } from '../../core/errors.js';
import { PROTECTED_ANNOTATION, VM_ID_ANNOTATION } from '../../core/labels.js';
import { matchesProtectedPattern } from '../../core/safety.js';
import {
  isNodeReady,
  type TtlInfo,
  ttlOf,
  type WorkerStatus,
  type WorkerType,
  workerStatusOf,
  workerTypeOf,
} from '../../core/worker.js';
import { type KubeClients, kubeCall, statusOf } from './client.js';

/** Page size of inventory LISTs: 1,000 nodes fit in one page; 10,000 pods in five. */
export const INVENTORY_PAGE_SIZE = 2000;
/** Pods that still occupy a node (what `kubectl describe node` counts). */
export const NON_TERMINATED_PODS = 'status.phase!=Succeeded,status.phase!=Failed';

export interface ResourceList {
  cpu: string;
  memory: string;
  pods: string;
}

export interface WorkerSummary {
  name: string;
  type: WorkerType;
  status: WorkerStatus;
  ready: boolean;
  unschedulable: boolean;
  capacity: ResourceList;
  allocatable: ResourceList;
  /** Pods on the node that are not finished (DaemonSet and mirror pods included). */
  podsRunning: number;
  /** Sum of the effective requests of those pods. */
  requested: { cpuMillis: number; memoryBytes: number };
  /** Burst workers only. */
  ttl: TtlInfo | null;
  vmId: string | null;
  providerId: string | null;
  createdAt: string;
  ageSeconds: number;
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** Matches a protected name pattern or carries the protected annotation. */
  protected: boolean;
}

export interface WorkerPod {
  namespace: string;
  name: string;
  phase: string;
  /** `Kind/name` of the controller, if any. */
  owner?: string;
}

export interface WorkerDetails extends WorkerSummary {
  uid: string;
  taints: Array<{ key: string; value?: string; effect: string }>;
  conditions: Array<{
    type: string;
    status: string;
    reason?: string;
    message?: string;
    lastTransitionTime?: string;
  }>;
  addresses: Array<{ type: string; address: string }>;
  nodeInfo?: {
    kubeletVersion: string;
    osImage: string;
    kernelVersion: string;
    containerRuntimeVersion: string;
    architecture: string;
    operatingSystem: string;
  };
  pods: WorkerPod[];
}

export interface WorkerFilter {
  type?: 'burst' | 'permanent' | 'all';
}

function resources(list: Record<string, string> | undefined): ResourceList {
  return { cpu: list?.cpu ?? '0', memory: list?.memory ?? '0', pods: list?.pods ?? '0' };
}

function iso(t: Date | string | undefined): string {
  if (t === undefined) return '';
  return t instanceof Date ? t.toISOString() : new Date(t).toISOString();
}

interface PodTally {
  running: number;
  workload: number;
  cpuMillis: number;
  memoryBytes: number;
}

function tally(pods: readonly V1Pod[]): PodTally {
  const t: PodTally = { running: 0, workload: 0, cpuMillis: 0, memoryBytes: 0 };
  for (const pod of pods) {
    const phase = pod.status?.phase;
    if (phase === 'Succeeded' || phase === 'Failed') continue;
    t.running += 1;
    if (isWorkloadPod(pod)) t.workload += 1;
    const r = podRequests(pod);
    t.cpuMillis += r.cpuMillis;
    t.memoryBytes += r.memoryBytes;
  }
  return t;
}

/** Builds a summary from a node and the pods bound to it. Pure given `now`. */
export function summarizeWorker(
  config: Config,
  node: V1Node,
  pods: readonly V1Pod[],
  now: Date,
): WorkerSummary {
  const name = node.metadata?.name ?? '';
  const labels = node.metadata?.labels ?? {};
  const annotations = node.metadata?.annotations ?? {};
  const type = workerTypeOf(node, config.burst_workers.label);
  const t = tally(pods);
  const created = node.metadata?.creationTimestamp;
  const createdAt = iso(created);
  const createdMs = createdAt === '' ? now.getTime() : Date.parse(createdAt);
  return {
    name,
    type,
    status: workerStatusOf(node, t.workload),
    ready: isNodeReady(node),
    unschedulable: node.spec?.unschedulable === true,
    capacity: resources(node.status?.capacity),
    allocatable: resources(node.status?.allocatable),
    podsRunning: t.running,
    requested: { cpuMillis: t.cpuMillis, memoryBytes: t.memoryBytes },
    ttl: type === 'burst' ? ttlOf(node, now.getTime()) : null,
    vmId: annotations[VM_ID_ANNOTATION] ?? null,
    providerId: node.spec?.providerID ?? null,
    createdAt,
    ageSeconds: Math.max(0, Math.floor((now.getTime() - createdMs) / 1000)),
    labels,
    annotations,
    protected:
      annotations[PROTECTED_ANNOTATION] === 'true' ||
      matchesProtectedPattern(name, config.safety.protected_worker_patterns) !== null,
  };
}

/** Every node, one paginated LIST. */
export async function listAllNodes(k: KubeClients): Promise<V1Node[]> {
  const out: V1Node[] = [];
  let token: string | undefined;
  do {
    const page = await kubeCall(k, 'list nodes', () =>
      k.core.listNode({ limit: INVENTORY_PAGE_SIZE, ...(token ? { _continue: token } : {}) }),
    );
    out.push(...page.items);
    token = page.metadata?._continue || undefined;
  } while (token);
  return out;
}

/** Every non-terminated pod of the cluster bound to a node, one paginated LIST. */
async function listBoundPods(k: KubeClients): Promise<V1Pod[]> {
  const out: V1Pod[] = [];
  let token: string | undefined;
  do {
    const page = await kubeCall(k, 'list pods', () =>
      k.core.listPodForAllNamespaces({
        fieldSelector: `${NON_TERMINATED_PODS},spec.nodeName!=`,
        limit: INVENTORY_PAGE_SIZE,
        ...(token ? { _continue: token } : {}),
      }),
    );
    out.push(...page.items);
    token = page.metadata?._continue || undefined;
  } while (token);
  return out;
}

/**
 * All workers, sorted by name. A constant number of API calls: one node LIST and
 * one pod LIST (each paginated by INVENTORY_PAGE_SIZE), never a call per node.
 */
export async function listWorkers(
  k: KubeClients,
  config: Config,
  filter: WorkerFilter = {},
  now: Date = new Date(),
): Promise<WorkerSummary[]> {
  const [nodes, pods] = await Promise.all([listAllNodes(k), listBoundPods(k)]);
  const byNode = new Map<string, V1Pod[]>();
  for (const pod of pods) {
    const n = pod.spec?.nodeName;
    if (!n) continue;
    const list = byNode.get(n);
    if (list) list.push(pod);
    else byNode.set(n, [pod]);
  }
  const want = filter.type ?? 'all';
  return nodes
    .map((node) => summarizeWorker(config, node, byNode.get(node.metadata?.name ?? '') ?? [], now))
    .filter((w) => want === 'all' || w.type === want)
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** One worker with its taints, conditions, addresses and pods. */
export async function getWorker(
  k: KubeClients,
  config: Config,
  name: string,
  now: Date = new Date(),
): Promise<WorkerDetails> {
  let node: V1Node;
  try {
    node = await kubeCall(k, `read node ${name}`, () => k.core.readNode({ name }));
  } catch (err) {
    if (statusOf(err) === 404) {
      throw new WorkerError(ErrorCode.WorkerNotFound, `worker "${name}" does not exist`, { worker: name });
    }
    throw err;
  }
  const pods = await listPodsOnNode(k, name);
  const summary = summarizeWorker(config, node, pods, now);
  const info = node.status?.nodeInfo;
  return {
    ...summary,
    uid: node.metadata?.uid ?? '',
    taints: (node.spec?.taints ?? []).map((t) => ({
      key: t.key,
      ...(t.value !== undefined ? { value: t.value } : {}),
      effect: t.effect,
    })),
    conditions: (node.status?.conditions ?? []).map((c) => ({
      type: c.type,
      status: c.status,
      ...(c.reason !== undefined ? { reason: c.reason } : {}),
      ...(c.message !== undefined ? { message: c.message } : {}),
      ...(c.lastTransitionTime !== undefined ? { lastTransitionTime: iso(c.lastTransitionTime) } : {}),
    })),
    addresses: (node.status?.addresses ?? []).map((a) => ({ type: a.type, address: a.address })),
    ...(info
      ? {
          nodeInfo: {
            kubeletVersion: info.kubeletVersion,
            osImage: info.osImage,
            kernelVersion: info.kernelVersion,
            containerRuntimeVersion: info.containerRuntimeVersion,
            architecture: info.architecture,
            operatingSystem: info.operatingSystem,
          },
        }
      : {}),
    pods: pods
      .map((p) => {
        const owner = p.metadata?.ownerReferences?.find((o) => o.controller === true);
        return {
          namespace: p.metadata?.namespace ?? '',
          name: p.metadata?.name ?? '',
          phase: p.status?.phase ?? 'Unknown',
          ...(owner ? { owner: `${owner.kind}/${owner.name}` } : {}),
        };
      })
      .sort((a, b) => a.namespace.localeCompare(b.namespace) || a.name.localeCompare(b.name)),
  };
}

/** All pods bound to one node (every phase), one LIST with a field selector. */
export async function listPodsOnNode(k: KubeClients, name: string): Promise<V1Pod[]> {
  const list = await kubeCall(k, `list pods of node ${name}`, () =>
    k.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${name}` }),
  );
  return list.items;
}
