/**
 * Fixtures for Kubernetes integration tests and benches: clients (optionally counting
 * every API request), kwok and non-kwok nodes, namespaces and workloads isolated by
 * a per-test label and taint so that suites sharing the cluster never meet.
 */
import {
  AppsV1Api,
  CoreV1Api,
  PatchStrategy,
  PolicyV1Api,
  type RequestContext,
  setHeaderOptions,
  type V1Node,
  type V1Pod,
  type V1PodSpec,
} from '@kubernetes/client-node';
import { type KubeClients, PooledKubeConfig } from '../../activities/kubernetes/index.js';
import {
  CREATED_AT_ANNOTATION,
  DEFAULT_BURST_LABEL_KEY,
  DEFAULT_BURST_LABEL_VALUE,
  EXPIRES_AT_ANNOTATION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  PROVIDER_ANNOTATION,
  TTL_ANNOTATION,
  VM_ID_ANNOTATION,
} from '../../core/labels.js';

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

export const KWOK_ANNOTATION = 'kwok.x-k8s.io/node';
/** Label + NoSchedule taint key that ties a test's pods to that test's nodes. */
export const ISOLATION_KEY = 'kube-test.burst-workers.io/group';

export interface ApiCall {
  method: string;
  path: string;
  query: string;
}

/** A KubeConfig that records every request made through it (API clients and watches). */
export class CountingKubeConfig extends PooledKubeConfig {
  readonly calls: ApiCall[] = [];

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    const url = new URL(context.getUrl());
    this.calls.push({ method: context.getHttpMethod().toString(), path: url.pathname, query: url.search });
    return super.applySecurityAuthentication(context);
  }
}

/**
 * Clients from a kubeconfig file; with `impersonateUser`, every request is made as that
 * user (the file's credentials + Impersonate-User), e.g. a service account for RBAC tests.
 */
export function clientsFromFile(
  kubeconfigPath: string,
  counting = false,
  impersonateUser?: string,
): KubeClients & { calls: ApiCall[] } {
  const kc = counting ? new CountingKubeConfig() : new PooledKubeConfig();
  kc.loadFromFile(kubeconfigPath);
  if (impersonateUser !== undefined) {
    kc.loadFromOptions({
      clusters: kc.clusters,
      contexts: kc.contexts,
      currentContext: kc.currentContext,
      users: kc.users.map((u) => ({ ...u, impersonateUser })),
    });
  }
  return {
    kc,
    core: kc.makeApiClient(CoreV1Api),
    policy: kc.makeApiClient(PolicyV1Api),
    source: impersonateUser
      ? `kubeconfig ${kubeconfigPath} as ${impersonateUser}`
      : `kubeconfig ${kubeconfigPath}`,
    calls: kc instanceof CountingKubeConfig ? kc.calls : [],
  };
}

export function apps(k: KubeClients): AppsV1Api {
  return k.kc.makeApiClient(AppsV1Api);
}

export async function mapLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (t: T, i: number) => Promise<R>,
): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(limit, items.length) }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i] as T, i);
      }
    }),
  );
  return out;
}

export interface NodeFixture {
  name: string;
  /** Isolation group: label + NoSchedule taint `ISOLATION_KEY=<group>`. */
  group?: string;
  /** Managed by kwok (kept Ready, runs pods). Otherwise status is whatever `ready` says. */
  kwok?: boolean;
  ready?: boolean | 'missing';
  unschedulable?: boolean;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  providerId?: string;
  capacity?: { cpu: string; memory: string; pods: string };
}

export function nodeObject(f: NodeFixture): V1Node {
  const capacity = f.capacity ?? { cpu: '32', memory: '64Gi', pods: '110' };
  const conditions =
    f.ready === 'missing' || f.kwok
      ? []
      : [
          {
            type: 'Ready',
            status: f.ready === false ? 'False' : 'True',
            reason: f.ready === false ? 'KubeletNotReady' : 'KubeletReady',
            message: 'set by test',
            lastHeartbeatTime: new Date(),
            lastTransitionTime: new Date(),
          },
        ];
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: f.name,
      labels: {
        'kubernetes.io/hostname': f.name,
        ...(f.group ? { [ISOLATION_KEY]: f.group } : {}),
        ...(f.kwok ? { type: 'kwok' } : {}),
        ...f.labels,
      },
      annotations: { ...(f.kwok ? { [KWOK_ANNOTATION]: 'fake' } : {}), ...f.annotations },
    },
    spec: {
      ...(f.unschedulable ? { unschedulable: true } : {}),
      ...(f.providerId ? { providerID: f.providerId } : {}),
      ...(f.group ? { taints: [{ key: ISOLATION_KEY, value: f.group, effect: 'NoSchedule' }] } : {}),
    },
    status: {
      capacity,
      allocatable: capacity,
      conditions,
      ...(f.kwok ? {} : { addresses: [{ type: 'InternalIP', address: '10.0.0.1' }] }),
    },
  } as V1Node;
}

/** Creates the node with its status. */
export async function createNode(k: KubeClients, f: NodeFixture): Promise<V1Node> {
  // A Node keeps the status it is created with (that is how kubelets register).
  return k.core.createNode({ body: nodeObject(f) });
}

export async function mergePatchNode(k: KubeClients, name: string, body: object): Promise<V1Node> {
  return k.core.patchNode({ name, body }, MERGE_PATCH);
}

export async function setNodeReady(k: KubeClients, name: string, ready: boolean): Promise<void> {
  const status = {
    conditions: [
      {
        type: 'Ready',
        status: ready ? 'True' : 'False',
        reason: ready ? 'KubeletReady' : 'KubeletNotReady',
        message: 'set by test',
        lastHeartbeatTime: new Date(),
        lastTransitionTime: new Date(),
      },
    ],
  };
  await k.core.patchNodeStatus({ name, body: { status } }, MERGE_PATCH);
}

/** Labels and annotations that make a node a burst worker owned by this system. */
export function burstMarks(
  opts: {
    vmId?: string;
    ttlHours?: string;
    expiresAt?: string;
    /** The burst label (default `worker-type=burst`). */
    label?: { key: string; value: string };
  } = {},
): {
  labels: Record<string, string>;
  annotations: Record<string, string>;
} {
  const label = opts.label ?? { key: DEFAULT_BURST_LABEL_KEY, value: DEFAULT_BURST_LABEL_VALUE };
  return {
    labels: { [label.key]: label.value, [MANAGED_BY_LABEL]: MANAGED_BY_VALUE },
    annotations: {
      [VM_ID_ANNOTATION]: opts.vmId ?? 'vm-1',
      [PROVIDER_ANNOTATION]: 'sandbox',
      [CREATED_AT_ANNOTATION]: new Date().toISOString(),
      ...(opts.ttlHours !== undefined ? { [TTL_ANNOTATION]: opts.ttlHours } : {}),
      ...(opts.expiresAt !== undefined ? { [EXPIRES_AT_ANNOTATION]: opts.expiresAt } : {}),
    },
  };
}

export async function deleteNodeQuietly(k: KubeClients, name: string): Promise<void> {
  try {
    await k.core.deleteNode({ name });
  } catch {
    // already gone
  }
}

/** Creates a namespace and waits for its default ServiceAccount (pods need it). */
export async function createNamespace(k: KubeClients, name: string): Promise<void> {
  await k.core.createNamespace({ body: { metadata: { name } } });
  for (let i = 0; i < 200; i++) {
    try {
      await k.core.readNamespacedServiceAccount({ name: 'default', namespace: name });
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`namespace ${name}: default ServiceAccount never appeared`);
}

/** Force-deletes every pod (nothing may be left waiting for a kubelet) and the namespace. */
export async function deleteNamespace(k: KubeClients, name: string): Promise<void> {
  try {
    await k.core.deleteCollectionNamespacedPod({ namespace: name, gracePeriodSeconds: 0 });
  } catch {
    // ignore
  }
  try {
    await k.core.deleteNamespace({ name });
  } catch {
    // ignore
  }
}

/** Pod spec pieces that confine a pod to a test group's nodes. */
export function groupPlacement(group: string): Pick<V1PodSpec, 'nodeSelector' | 'tolerations'> {
  return {
    nodeSelector: { [ISOLATION_KEY]: group },
    tolerations: [{ key: ISOLATION_KEY, operator: 'Equal', value: group, effect: 'NoSchedule' }],
  };
}

export function containers(cpu = '10m', memory = '16Mi'): V1PodSpec['containers'] {
  return [{ name: 'app', image: 'registry.invalid/app:1', resources: { requests: { cpu, memory } } }];
}

export async function createDeployment(
  k: KubeClients,
  ns: string,
  name: string,
  opts: { group: string; replicas: number; emptyDir?: boolean; nodeName?: string; gracePeriod?: number },
): Promise<void> {
  await apps(k).createNamespacedDeployment({
    namespace: ns,
    body: {
      metadata: { name },
      spec: {
        replicas: opts.replicas,
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: {
            ...groupPlacement(opts.group),
            ...(opts.nodeName ? { nodeName: opts.nodeName } : {}),
            terminationGracePeriodSeconds: opts.gracePeriod ?? 1,
            containers: containers(),
            ...(opts.emptyDir ? { volumes: [{ name: 'scratch', emptyDir: {} }] } : {}),
          },
        },
      },
    },
  });
}

export async function createDaemonSet(
  k: KubeClients,
  ns: string,
  name: string,
  group: string,
): Promise<void> {
  await apps(k).createNamespacedDaemonSet({
    namespace: ns,
    body: {
      metadata: { name },
      spec: {
        selector: { matchLabels: { app: name } },
        template: {
          metadata: { labels: { app: name } },
          spec: { ...groupPlacement(group), terminationGracePeriodSeconds: 1, containers: containers() },
        },
      },
    },
  });
}

export async function createBarePod(
  k: KubeClients,
  ns: string,
  name: string,
  nodeName: string,
  extra: { annotations?: Record<string, string>; emptyDir?: boolean } = {},
): Promise<V1Pod> {
  return k.core.createNamespacedPod({
    namespace: ns,
    body: {
      metadata: {
        name,
        labels: { app: name },
        ...(extra.annotations ? { annotations: extra.annotations } : {}),
      },
      spec: {
        nodeName,
        tolerations: [{ operator: 'Exists' }],
        terminationGracePeriodSeconds: 1,
        containers: containers(),
        ...(extra.emptyDir ? { volumes: [{ name: 'scratch', emptyDir: {} }] } : {}),
      },
    },
  });
}

export async function createPdb(
  k: KubeClients,
  ns: string,
  name: string,
  app: string,
  spec: { maxUnavailable?: number | string; minAvailable?: number | string },
): Promise<void> {
  await k.policy.createNamespacedPodDisruptionBudget({
    namespace: ns,
    body: { metadata: { name }, spec: { selector: { matchLabels: { app } }, ...spec } },
  });
}

export async function podsOn(k: KubeClients, nodeName: string, ns?: string): Promise<V1Pod[]> {
  const list = ns
    ? await k.core.listNamespacedPod({ namespace: ns, fieldSelector: `spec.nodeName=${nodeName}` })
    : await k.core.listPodForAllNamespaces({ fieldSelector: `spec.nodeName=${nodeName}` });
  return list.items;
}

/** Polls (test-side only) until `fn` returns a value, or fails after `timeoutMs`. */
export async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  timeoutMs = 60_000,
  what = 'condition',
): Promise<T> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}

/** Waits until the pods of a label selector in `ns` are Running on nodes and number `count`. */
export async function waitRunning(
  k: KubeClients,
  ns: string,
  app: string,
  count: number,
  timeoutMs = 90_000,
): Promise<V1Pod[]> {
  return eventually(
    async () => {
      const list = await k.core.listNamespacedPod({ namespace: ns, labelSelector: `app=${app}` });
      const running = list.items.filter(
        (p) => p.status?.phase === 'Running' && !p.metadata?.deletionTimestamp && p.spec?.nodeName,
      );
      return running.length === count ? running : undefined;
    },
    timeoutMs,
    `${count} running pods of ${ns}/${app}`,
  );
}

/** Pods per node and CPU (millicores) per pod of node i in the scale fixtures. */
export const scalePodsOf = (i: number): number => i % 21;
export const scaleCpuOf = (i: number): number => ((i % 7) + 1) * 100;
export const scaleNodeName = (group: string, i: number): string => `${group}-${String(i).padStart(4, '0')}`;

/**
 * Seeds `nodes` non-kwok nodes (every 10th a burst worker) and i % 21 pods on node i
 * (9,948 pods for 1,000 nodes), bound with spec.nodeName so no scheduler is involved.
 */
export async function seedScale(
  k: KubeClients,
  group: string,
  nodes: number,
  opts: {
    concurrency?: number;
    /**
     * Burst label of the seeded burst nodes. A suite sharing the cluster with others passes
     * one of its own: 100 burst nodes under the default label would count towards every
     * other suite's max_burst_workers, and expired ones would be theirs to reap.
     */
    burstLabel?: { key: string; value: string };
  } = {},
): Promise<void> {
  const concurrency = opts.concurrency ?? 64;
  await createNamespace(k, group);
  const idx = Array.from({ length: nodes }, (_, i) => i);
  await mapLimit(idx, concurrency, (i) =>
    createNode(k, {
      name: scaleNodeName(group, i),
      group,
      ready: 'missing',
      ...(i % 10 === 0
        ? burstMarks({ vmId: `vm-${i}`, ttlHours: String((i % 5) + 1), label: opts.burstLabel })
        : {}),
    }),
  );
  const pods = idx.flatMap((i) => Array.from({ length: scalePodsOf(i) }, (_, j) => ({ i, j })));
  await mapLimit(pods, concurrency, ({ i, j }) =>
    k.core.createNamespacedPod({
      namespace: group,
      body: {
        metadata: { name: `p-${i}-${j}` },
        spec: {
          nodeName: scaleNodeName(group, i),
          tolerations: [{ operator: 'Exists' }],
          automountServiceAccountToken: false,
          containers: containers(`${scaleCpuOf(i)}m`, '1Mi'),
        },
      },
    }),
  );
}

/** Removes what seedScale created: pods force-deleted in one call, nodes in one call. */
export async function cleanupScale(k: KubeClients, group: string): Promise<void> {
  await deleteNamespace(k, group);
  await k.core.deleteCollectionNode({ labelSelector: `${ISOLATION_KEY}=${group}` });
}
