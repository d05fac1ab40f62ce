/**
 * deleteNode: the safety check right before the call and the uid precondition.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  deleteNode,
  findNodeByProviderId,
  getNodeOrNull,
  type KubeClients,
  markBurstNode,
  setNodeExpiry,
  waitForNodeReady,
} from '../../activities/kubernetes/index.js';
import { defaultConfig } from '../../core/config.js';
import { ErrorCode } from '../../core/errors.js';
import {
  EXPIRES_AT_ANNOTATION,
  MANAGED_BY_LABEL,
  PROTECTED_ANNOTATION,
  STARTUP_TAINT_KEY,
  TTL_ANNOTATION,
  VM_ID_ANNOTATION,
} from '../../core/labels.js';
import { workerTypeOf } from '../../core/worker.js';
import {
  burstMarks,
  clientsFromFile,
  createNode,
  deleteNodeQuietly,
  mergePatchNode,
  setNodeReady,
} from '../support/kube-fixtures.js';
import { kubeconfigPath, uniqueName } from '../support/stack.js';

const config = defaultConfig();
let k: KubeClients;
let name: string;

beforeEach(() => {
  k ??= clientsFromFile(kubeconfigPath());
  name = uniqueName('del');
});

afterEach(async () => {
  await deleteNodeQuietly(k, name);
});

async function burstNode(): Promise<string> {
  const node = await createNode(k, { name, ...burstMarks({ vmId: `vm-${name}` }) });
  return node.metadata?.uid as string;
}

describe('deleteNode', () => {
  it('deletes the burst node that was checked', async () => {
    const uid = await burstNode();
    expect(await deleteNode(k, config, name, uid)).toEqual({ deleted: true });
    expect(await getNodeOrNull(k, name)).toBeNull();
    // Already gone: done, not an error.
    expect(await deleteNode(k, config, name, uid)).toEqual({ deleted: false });
  });

  it('a node re-created under the same name survives (uid precondition)', async () => {
    const oldUid = await burstNode();
    await k.core.deleteNode({ name });
    const newUid = await burstNode();
    expect(newUid).not.toBe(oldUid);
    await expect(deleteNode(k, config, name, oldUid)).rejects.toMatchObject({
      code: ErrorCode.PreconditionFailed,
    });
    expect((await getNodeOrNull(k, name))?.metadata?.uid).toBe(newUid);
  });

  it('a node swapped between the check and the DELETE survives (the DELETE carries the uid)', async () => {
    const oldUid = await burstNode();
    let swapped = false;
    const swap = async () => {
      if (swapped) return;
      swapped = true;
      await k.core.deleteNode({ name });
      await burstNode();
    };
    await expect(deleteNode(k, config, name, oldUid, { afterCheck: swap })).rejects.toMatchObject({
      code: ErrorCode.PreconditionFailed,
    });
    const survivor = await getNodeOrNull(k, name);
    expect(survivor).not.toBeNull();
    expect(survivor?.metadata?.uid).not.toBe(oldUid);
  });

  it('a node relabelled permanent between the check and the DELETE survives', async () => {
    const uid = await burstNode();
    let relabelled = false;
    const relabel = async () => {
      if (relabelled) return;
      relabelled = true;
      await mergePatchNode(k, name, { metadata: { labels: { [MANAGED_BY_LABEL]: null } } });
    };
    await expect(deleteNode(k, config, name, uid, { afterCheck: relabel })).rejects.toMatchObject({
      code: ErrorCode.PermanentWorker,
    });
    expect((await getNodeOrNull(k, name))?.metadata?.uid).toBe(uid);
  });

  it('a node relabelled permanent after the check survives', async () => {
    const uid = await burstNode();
    await mergePatchNode(k, name, { metadata: { labels: { [MANAGED_BY_LABEL]: null } } });
    await expect(deleteNode(k, config, name, uid)).rejects.toMatchObject({ code: ErrorCode.PermanentWorker });
    expect((await getNodeOrNull(k, name))?.metadata?.uid).toBe(uid);
  });

  it('a protected node survives whatever its labels say', async () => {
    await createNode(k, {
      name,
      ...burstMarks(),
      annotations: { ...burstMarks().annotations, [PROTECTED_ANNOTATION]: 'true' },
    });
    const uid = (await getNodeOrNull(k, name))?.metadata?.uid as string;
    await expect(deleteNode(k, config, name, uid)).rejects.toMatchObject({ code: ErrorCode.ProtectedWorker });
    expect(await getNodeOrNull(k, name)).not.toBeNull();
  });
});

describe('node lifecycle helpers', () => {
  it('markBurstNode writes ownership, TTL and removes the startup taint; idempotent', async () => {
    await createNode(k, { name, ready: 'missing', providerId: `sandbox://${name}` });
    await mergePatchNode(k, name, {
      spec: {
        taints: [
          { key: STARTUP_TAINT_KEY, effect: 'NoExecute' },
          { key: 'keep', effect: 'NoSchedule' },
        ],
      },
    });
    const waiting = waitForNodeReady(k, name, 30_000);
    await setNodeReady(k, name, true);
    expect((await waiting).metadata?.name).toBe(name);

    const meta = {
      vmId: 'vm-7',
      provider: 'sandbox',
      ttlHours: 2,
      expiresAt: '2030-01-01T00:00:00.000Z',
      sizeName: 'small',
      createdAt: '2029-12-31T22:00:00.000Z',
    };
    await markBurstNode(k, config, name, meta);
    const node = await markBurstNode(k, config, name, meta);
    expect(workerTypeOf(node, config.burst_workers.label)).toBe('burst');
    expect(node.metadata?.annotations?.[VM_ID_ANNOTATION]).toBe('vm-7');
    expect(node.metadata?.annotations?.[TTL_ANNOTATION]).toBe('2');
    expect((node.spec?.taints ?? []).some((t) => t.key === STARTUP_TAINT_KEY)).toBe(false);
    expect((node.spec?.taints ?? []).some((t) => t.key === 'keep')).toBe(true);

    await setNodeExpiry(k, name, '2031-01-01T00:00:00.000Z', 8762);
    const after = await getNodeOrNull(k, name);
    expect(after?.metadata?.annotations?.[EXPIRES_AT_ANNOTATION]).toBe('2031-01-01T00:00:00.000Z');
    expect((await findNodeByProviderId(k, `sandbox://${name}`))?.metadata?.name).toBe(name);
    expect(await findNodeByProviderId(k, `sandbox://${name}-none`)).toBeNull();
  });

  it('waitForNodeReady times out with JoinTimeout for a node that never registers', async () => {
    await expect(waitForNodeReady(k, name, 1500)).rejects.toMatchObject({ code: ErrorCode.JoinTimeout });
  });
});
