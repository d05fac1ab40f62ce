/**
 * destroyWorker and drainWorker against the real stack, started directly with the
 * Temporal client (no MCP layer): the safety rules hold inside the workflows and their
 * activities, and one worker has at most one mutating operation.
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { type Client, WorkflowFailedError } from '@temporalio/client';
import type { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVmProvider } from '../../activities/vm/index.js';
import type { VmProvider } from '../../activities/vm/provider.js';
import type { Config } from '../../core/config.js';
import { ErrorCode } from '../../core/errors.js';
import { MANAGED_BY_LABEL, MANAGED_BY_VALUE, VM_ID_ANNOTATION } from '../../core/labels.js';
import {
  type BurstWorkerResult,
  type DestroyWorkerResult,
  type DrainWorkerResult,
  type OperationStatus,
  WorkflowType,
  workflowId,
} from '../../core/operations.js';
import type { RunningWorker } from '../../worker/worker.js';
import { kubeConfig, uniqueName } from '../support/stack.js';
import {
  recordVmHistory,
  saveHistory,
  startTestWorker,
  temporalClient,
  testConfig,
  waitUntil,
} from '../support/worker-process.js';

const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

async function nodeOrNull(name: string) {
  try {
    return await core.readNode({ name });
  } catch {
    return null;
  }
}

describe('destroyWorker and drainWorker', () => {
  let config: Config;
  let worker: RunningWorker;
  let client: Client;
  let closeClient: () => Promise<void>;
  let vms: VmProvider;
  let history: Awaited<ReturnType<typeof recordVmHistory>>;
  const created: string[] = [];

  beforeAll(async () => {
    config = testConfig();
    history = await recordVmHistory(kc, config.provider.sandbox.namespace);
    worker = await startTestWorker(config);
    ({ client, close: closeClient } = await temporalClient());
    vms = createVmProvider(config, { kube: kc });
  });

  afterAll(async () => {
    for (const name of created) await core.deleteNode({ name }).catch(() => undefined);
    history?.stop();
    await worker?.shutdown();
    await closeClient?.();
    await vms?.close();
  });

  async function fakeNode(name: string, labels: Record<string, string>, annotations: Record<string, string>) {
    created.push(name);
    await core.createNode({
      body: { metadata: { name, labels, annotations: { 'kwok.x-k8s.io/node': 'fake', ...annotations } } },
    });
  }

  async function provisionOne(): Promise<string> {
    const name = uniqueName(config.burst_workers.name_prefix);
    const handle = await client.workflow.start(WorkflowType.burstWorker, {
      taskQueue: worker.taskQueue,
      workflowId: workflowId.burstWorker(name),
      args: [{ name, sizeName: 'small', ttlSeconds: 3600 }],
    });
    await waitUntil(
      'Ready',
      async () => ((await handle.query('status')) as OperationStatus).phase === 'ready',
    );
    return name;
  }

  async function destroyFailure(worker_: string, force: boolean): Promise<ApplicationFailure> {
    const err = await client.workflow
      .execute(WorkflowType.destroyWorker, {
        taskQueue: worker.taskQueue,
        workflowId: workflowId.destroy(worker_),
        args: [{ worker: worker_, force }],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    return (err as WorkflowFailedError).cause as ApplicationFailure;
  }

  it('refuses to destroy a permanent node, with or without force', async () => {
    const name = uniqueName('perm-node');
    await fakeNode(name, {}, {});
    for (const force of [true, false]) {
      const cause = await destroyFailure(name, force);
      expect(cause.type, cause.message).toBe(ErrorCode.PermanentWorker);
    }
    expect(await nodeOrNull(name)).not.toBeNull();
    await saveHistory(client, workflowId.destroy(name), 'destroyWorker-refused-permanent');
  });

  it('refuses a node matching a protected pattern whatever its labels say', async () => {
    const name = `permanent-${uniqueName('x')}`;
    await fakeNode(
      name,
      {
        [config.burst_workers.label.key]: config.burst_workers.label.value,
        [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
      },
      { [VM_ID_ANNOTATION]: 'sb-does-not-exist' },
    );
    const cause = await destroyFailure(name, true);
    expect(cause.type, cause.message).toBe(ErrorCode.ProtectedWorker);
    expect(cause.message).toMatch(/protected pattern/);
    expect(await nodeOrNull(name)).not.toBeNull();
  });

  it('refuses a burst node relabelled permanent after provisioning; then drains and destroys it once relabelled back', async () => {
    const name = await provisionOne();
    const vm = await vms.findVmByName(name);
    expect(vm).not.toBeNull();
    const key = config.burst_workers.label.key;
    await core.patchNode({ name, body: { metadata: { labels: { [key]: 'permanent' } } } }, mergePatch);
    const refused = await destroyFailure(name, true);
    expect(refused.type, refused.message).toBe(ErrorCode.PermanentWorker);
    expect(await nodeOrNull(name)).not.toBeNull();
    expect(await vms.getVm(vm?.id as string)).not.toBeNull();

    // Back to burst: destroy without force needs a drained node.
    await core.patchNode(
      { name, body: { metadata: { labels: { [key]: config.burst_workers.label.value } } } },
      mergePatch,
    );
    const notDrained = await destroyFailure(name, false);
    expect(notDrained.type, notDrained.message).toBe(ErrorCode.NotDrained);

    const drained = (await client.workflow.execute(WorkflowType.drainWorker, {
      taskQueue: worker.taskQueue,
      workflowId: workflowId.drain(name),
      args: [{ worker: name, timeoutSeconds: 30, forceAfterDeadline: true }],
    })) as DrainWorkerResult;
    expect(drained.worker).toBe(name);
    expect(drained.completed).toBe(true);
    expect((await core.readNode({ name })).spec?.unschedulable).toBe(true);
    await saveHistory(client, workflowId.drain(name), 'drainWorker');

    const result = (await client.workflow.execute(WorkflowType.destroyWorker, {
      taskQueue: worker.taskQueue,
      workflowId: workflowId.destroy(name),
      args: [{ worker: name, force: false }],
      workflowIdReusePolicy: 'ALLOW_DUPLICATE',
    })) as DestroyWorkerResult;
    expect(result.via).toBe('burst_worker_run');
    const lifetime = (await client.workflow
      .getHandle(workflowId.burstWorker(name))
      .result()) as BurstWorkerResult;
    expect(lifetime.outcome).toBe('destroyed');
    expect(await nodeOrNull(name)).toBeNull();
    expect(await vms.getVm(vm?.id as string)).toBeNull();
    await saveHistory(client, workflowId.destroy(name), 'destroyWorker-delegated');
  });

  it('runs two concurrent destroys of one worker as one operation', async () => {
    const name = await provisionOne();
    const start = () =>
      client.workflow.start(WorkflowType.destroyWorker, {
        taskQueue: worker.taskQueue,
        workflowId: workflowId.destroy(name),
        args: [{ worker: name, force: true }],
        workflowIdConflictPolicy: 'USE_EXISTING',
      });
    const [a, b] = await Promise.all([start(), start()]);
    expect(a.firstExecutionRunId).toBe(b.firstExecutionRunId);
    const [ra, rb] = (await Promise.all([a.result(), b.result()])) as DestroyWorkerResult[];
    expect(ra).toEqual(rb);
    expect(ra?.via).toBe('burst_worker_run');
    expect(await nodeOrNull(name)).toBeNull();
    expect(await vms.findVmByName(name)).toBeNull();
    expect(history.ids.get(name)?.size).toBe(1);
    await saveHistory(client, workflowId.burstWorker(name), 'burstWorker-destroyed');
  });

  it('destroys directly when no lifetime run owns the worker (run terminated), re-checking safety', async () => {
    const name = await provisionOne();
    await client.workflow.getHandle(workflowId.burstWorker(name)).terminate('test: lost lifetime run');
    const result = (await client.workflow.execute(WorkflowType.destroyWorker, {
      taskQueue: worker.taskQueue,
      workflowId: workflowId.destroy(name),
      args: [{ worker: name, force: true }],
    })) as DestroyWorkerResult;
    expect(result).toEqual({ worker: name, via: 'direct', vmDeleted: true, nodeDeleted: true });
    expect(await nodeOrNull(name)).toBeNull();
    expect(await vms.findVmByName(name)).toBeNull();
    await saveHistory(client, workflowId.destroy(name), 'destroyWorker-direct');
  });
});
