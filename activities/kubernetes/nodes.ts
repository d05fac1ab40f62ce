/**
 * Node mutations and lookups: cordon, uncordon, burst labelling, expiry, wait for
 * Ready, and the uid-preconditioned delete that runs the safety check right before it.
 */
import { PatchStrategy, setHeaderOptions, type V1Node, type V1Taint } from '@kubernetes/client-node';
import type { Config } from '../../core/config.js';
import { ErrorCode, WorkerError } from '../../core/errors.js';
import {
  CREATED_AT_ANNOTATION,
  DRAIN_STARTED_ANNOTATION,
  EXPIRES_AT_ANNOTATION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  PROVIDER_ANNOTATION,
  SIZE_LABEL,
  STARTUP_TAINT_KEY,
  TTL_ANNOTATION,
  VM_ID_ANNOTATION,
} from '../../core/labels.js';
import { checkDestructible } from '../../core/safety.js';
import { isNodeReady } from '../../core/worker.js';
import { type KubeClients, kubeCall, messageOf, statusOf } from './client.js';
import { listAllNodes } from './inventory.js';
import { observe } from './watch.js';

const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
/** Retries of an optimistic-concurrency conflict (409) before giving up. */
const CONFLICT_RETRIES = 5;

function notFound(name: string): WorkerError {
  return new WorkerError(ErrorCode.WorkerNotFound, `worker "${name}" does not exist`, { worker: name });
}

export async function getNodeOrNull(k: KubeClients, name: string): Promise<V1Node | null> {
  try {
    return await kubeCall(k, `read node ${name}`, () => k.core.readNode({ name }));
  } catch (err) {
    if (statusOf(err) === 404) return null;
    throw err;
  }
}

async function getNodeOrThrow(k: KubeClients, name: string): Promise<V1Node> {
  const node = await getNodeOrNull(k, name);
  if (node === null) throw notFound(name);
  return node;
}

/** JSON merge patch of a node; 404 → WorkerNotFound. */
export async function patchNode(k: KubeClients, name: string, body: object): Promise<V1Node> {
  try {
    return await kubeCall(k, `patch node ${name}`, () => k.core.patchNode({ name, body }, MERGE_PATCH));
  } catch (err) {
    if (statusOf(err) === 404) throw notFound(name);
    throw err;
  }
}

/** Marks the node unschedulable. Idempotent. */
export async function cordonNode(k: KubeClients, name: string): Promise<void> {
  await patchNode(k, name, { spec: { unschedulable: true } });
}

/** Makes the node schedulable again and forgets a drain that was started. Idempotent. */
export async function uncordonNode(k: KubeClients, name: string): Promise<void> {
  await patchNode(k, name, {
    spec: { unschedulable: null },
    metadata: { annotations: { [DRAIN_STARTED_ANNOTATION]: null } },
  });
}

/** The node whose spec.providerID equals `providerId` (one node LIST; the API has no field selector for it). */
export async function findNodeByProviderId(k: KubeClients, providerId: string): Promise<V1Node | null> {
  const nodes = await listAllNodes(k);
  return nodes.find((n) => n.spec?.providerID === providerId) ?? null;
}

/**
 * Waits, with a WATCH on the single node, until it exists and is Ready.
 * @throws WorkerError(JoinTimeout) after `timeoutMs`.
 */
export async function waitForNodeReady(
  k: KubeClients,
  name: string,
  timeoutMs: number,
  opts: { signal?: AbortSignal; onProgress?: (phase: 'absent' | 'not_ready') => void } = {},
): Promise<V1Node> {
  let current: V1Node | null = null;
  const report = () => opts.onProgress?.(current === null ? 'absent' : 'not_ready');
  const outcome = await observe(k, {
    list: async () => {
      const list = await kubeCall(k, `watch node ${name}`, () =>
        k.core.listNode({ fieldSelector: `metadata.name=${name}` }),
      );
      current = list.items[0] ?? null;
      report();
      return list.metadata?.resourceVersion ?? '';
    },
    path: '/api/v1/nodes',
    query: { fieldSelector: `metadata.name=${name}` },
    onEvent: (type, obj) => {
      current = type === 'DELETED' ? null : (obj as V1Node);
    },
    isDone: () => current !== null && isNodeReady(current),
    deadlineMs: Date.now() + timeoutMs,
    signal: opts.signal,
    onTick: report,
  });
  if (outcome === 'deadline' || current === null) {
    const state = current === null ? 'has not registered' : 'is not Ready';
    throw new WorkerError(
      ErrorCode.JoinTimeout,
      `node "${name}" ${state} after ${Math.round(timeoutMs / 1000)} s`,
      { worker: name, registered: current !== null },
    );
  }
  return current;
}

export interface BurstNodeMeta {
  vmId: string;
  provider: string;
  ttlHours: number;
  expiresAt: string;
  sizeName: string;
  createdAt: string;
}

/**
 * Writes this system's ownership labels and annotations on a joined node and removes
 * the startup taint. Idempotent; the taint list is replaced under the node's
 * resourceVersion so a concurrent change to taints is never lost.
 */
export async function markBurstNode(
  k: KubeClients,
  config: Config,
  name: string,
  meta: BurstNodeMeta,
): Promise<V1Node> {
  const label = config.burst_workers.label;
  for (let attempt = 0; ; attempt++) {
    const node = await getNodeOrThrow(k, name);
    const taints: V1Taint[] = (node.spec?.taints ?? []).filter((t) => t.key !== STARTUP_TAINT_KEY);
    const hadStartupTaint = taints.length !== (node.spec?.taints ?? []).length;
    try {
      return await kubeCall(k, `label node ${name}`, () =>
        k.core.patchNode(
          {
            name,
            body: {
              metadata: {
                resourceVersion: node.metadata?.resourceVersion,
                labels: {
                  [label.key]: label.value,
                  [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
                  [SIZE_LABEL]: meta.sizeName,
                },
                annotations: {
                  [TTL_ANNOTATION]: String(meta.ttlHours),
                  [EXPIRES_AT_ANNOTATION]: meta.expiresAt,
                  [VM_ID_ANNOTATION]: meta.vmId,
                  [PROVIDER_ANNOTATION]: meta.provider,
                  [CREATED_AT_ANNOTATION]: meta.createdAt,
                },
              },
              ...(hadStartupTaint ? { spec: { taints } } : {}),
            },
          },
          MERGE_PATCH,
        ),
      );
    } catch (err) {
      if (statusOf(err) === 409 && attempt < CONFLICT_RETRIES) continue;
      if (statusOf(err) === 404) throw notFound(name);
      throw err;
    }
  }
}

/** Updates the TTL annotations (extend or shorten). */
export async function setNodeExpiry(
  k: KubeClients,
  name: string,
  expiresAt: string,
  ttlHours: number,
): Promise<void> {
  await patchNode(k, name, {
    metadata: { annotations: { [EXPIRES_AT_ANNOTATION]: expiresAt, [TTL_ANNOTATION]: String(ttlHours) } },
  });
}

/**
 * Deletes a node only if it is still the object the caller checked (`expectedUid`)
 * and still passes the safety check, verified right before the call. The delete
 * carries uid and resourceVersion preconditions, so a node re-created under the same
 * name, or changed (e.g. relabelled permanent) between the check and the delete, survives.
 * @returns deleted:false when the node is already gone.
 */
export async function deleteNode(
  k: KubeClients,
  config: Config,
  name: string,
  expectedUid: string,
  /** Test seam: runs between the safety check and the DELETE (to prove the precondition holds a race). */
  hooks: { afterCheck?: () => Promise<void> } = {},
): Promise<{ deleted: boolean }> {
  for (let attempt = 0; ; attempt++) {
    const node = await getNodeOrNull(k, name);
    if (node === null) return { deleted: false };
    const verdict = checkDestructible(node, config);
    if (!verdict.allowed) {
      throw new WorkerError(verdict.code, verdict.message, { worker: name, rule: verdict.rule });
    }
    const uid = node.metadata?.uid ?? '';
    if (uid !== expectedUid) {
      throw new WorkerError(
        ErrorCode.PreconditionFailed,
        `refused: node "${name}" was replaced (uid ${uid}, expected ${expectedUid}); the new node is not deleted`,
        { worker: name, expectedUid, actualUid: uid },
      );
    }
    await hooks.afterCheck?.();
    try {
      await kubeCall(k, `delete node ${name}`, () =>
        k.core.deleteNode({
          name,
          body: {
            preconditions: { uid: expectedUid, resourceVersion: node.metadata?.resourceVersion ?? '' },
          },
        }),
      );
      return { deleted: true };
    } catch (err) {
      const status = statusOf(err);
      if (status === 404) return { deleted: false };
      if (status === 409) {
        // The node changed after the check: check again from its new state.
        if (attempt < CONFLICT_RETRIES) continue;
        throw new WorkerError(
          ErrorCode.PreconditionFailed,
          `refused: node "${name}" kept changing during the delete: ${messageOf(err)}`,
          { worker: name, expectedUid },
        );
      }
      throw err;
    }
  }
}
