/**
 * burstWorker + provisionWorkers end to end: real Temporal dev server, real cluster,
 * sandbox provider. Workers become Ready with the ownership labels and TTL annotations,
 * expire, drain and vanish (node and VM); a VM that never joins is rolled back.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { type Client, WorkflowFailedError, WorkflowUpdateFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVmProvider } from '../../activities/vm/index.js';
import type { VmProvider } from '../../activities/vm/provider.js';
import type { Config } from '../../core/config.js';
import { ErrorCode } from '../../core/errors.js';
import {
  CREATED_AT_ANNOTATION,
  EXPIRES_AT_ANNOTATION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  PROVIDER_ANNOTATION,
  SIZE_LABEL,
  STARTUP_TAINT_KEY,
  TTL_ANNOTATION,
  VM_ID_ANNOTATION,
} from '../../core/labels.js';
import {
  type BurstWorkerResult,
  type OperationStatus,
  type ProvisionStatus,
  SearchAttribute,
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

async function nodeOrNull(name: string) {
  try {
    return await core.readNode({ name });
  } catch {
    return null;
  }
}

describe('burst worker lifetime', () => {
  let config: Config;
  let worker: RunningWorker;
  let client: Client;
  let closeClient: () => Promise<void>;
  let vms: VmProvider;
  let history: Awaited<ReturnType<typeof recordVmHistory>>;

  beforeAll(async () => {
    config = testConfig();
    history = await recordVmHistory(kc, config.provider.sandbox.namespace);
    worker = await startTestWorker(config);
    ({ client, close: closeClient } = await temporalClient());
    vms = createVmProvider(config, { kube: kc });
  });

  afterAll(async () => {
    history?.stop();
    await worker?.shutdown();
    await closeClient?.();
    await vms?.close();
  });

  it('provisions 3 workers that become Ready, labelled, then expire, drain and vanish (node and VM)', async () => {
    const key = uniqueName('lifecycle');
    const ttlSeconds = 12;
    const handle = await client.workflow.start(WorkflowType.provisionWorkers, {
      taskQueue: worker.taskQueue,
      workflowId: workflowId.provision(key),
      args: [{ count: 3, ttlSeconds, size: 'small', idempotencyKey: key }],
    });
    // The reserved names are visible at once through the status query.
    const reserved = await waitUntil('reserved names', async () => {
      const s = (await handle.query('status')) as ProvisionStatus;
      return s.workers && s.workers.length === 3 ? s.workers : undefined;
    });
    const result = (await handle.result()) as { workers: Array<{ name: string; outcome: string }> };
    expect(result.workers.map((w) => w.name)).toEqual(reserved.map((w) => w.name));
    expect(result.workers.map((w) => w.outcome)).toEqual(['ready', 'ready', 'ready']);

    for (const { name } of result.workers) {
      const node = await core.readNode({ name });
      const labels = node.metadata?.labels ?? {};
      const annotations = node.metadata?.annotations ?? {};
      expect(labels[config.burst_workers.label.key]).toBe(config.burst_workers.label.value);
      expect(labels[MANAGED_BY_LABEL]).toBe(MANAGED_BY_VALUE);
      expect(labels[SIZE_LABEL]).toBe('small');
      expect(Number(annotations[TTL_ANNOTATION])).toBeCloseTo(ttlSeconds / 3600, 5);
      expect(Date.parse(annotations[EXPIRES_AT_ANNOTATION] ?? '')).toBeGreaterThan(
        Date.parse(annotations[CREATED_AT_ANNOTATION] ?? ''),
      );
      expect(annotations[PROVIDER_ANNOTATION]).toBe('sandbox');
      const vm = await vms.findVmByName(name);
      expect(vm).not.toBeNull();
      expect(annotations[VM_ID_ANNOTATION]).toBe(vm?.id);
      expect(node.spec?.providerID).toBe(vm?.providerId);
      expect((node.spec?.taints ?? []).some((t) => t.key === STARTUP_TAINT_KEY)).toBe(false);

      const status = (await client.workflow
        .getHandle(workflowId.burstWorker(name))
        .query('status')) as OperationStatus;
      expect(status.vmId).toBe(vm?.id);
      expect(status.steps.map((s) => s.name)).toEqual(
        expect.arrayContaining(['create_vm', 'start_vm', 'wait_for_node', 'label_node']),
      );
    }

    // The lifetime runs are findable by their typed search attributes.
    const first = result.workers[0]?.name as string;
    await waitUntil('search attributes', async () => {
      for await (const wf of client.workflow.list({ query: `${SearchAttribute.worker} = '${first}'` })) {
        if (wf.workflowId === workflowId.burstWorker(first)) return true;
      }
      return false;
    });

    // Expiry: each lifetime run drains, deletes the VM, deletes the node.
    const outcomes = await Promise.all(
      result.workers.map(
        (w) =>
          client.workflow.getHandle(workflowId.burstWorker(w.name)).result() as Promise<BurstWorkerResult>,
      ),
    );
    expect(outcomes.map((o) => o.outcome)).toEqual(['expired', 'expired', 'expired']);
    for (const { name } of result.workers) {
      expect(await nodeOrNull(name)).toBeNull();
      expect(await vms.findVmByName(name)).toBeNull();
      expect(history.ids.get(name)?.size).toBe(1);
    }
    expect(await vms.listOwnedVms()).toEqual([]);

    // The same idempotency key never provisions twice.
    const again = await client.workflow
      .start(WorkflowType.provisionWorkers, {
        taskQueue: worker.taskQueue,
        workflowId: workflowId.provision(key),
        args: [{ count: 3, ttlSeconds, size: 'small', idempotencyKey: key }],
        workflowIdConflictPolicy: 'USE_EXISTING',
        workflowIdReusePolicy: 'REJECT_DUPLICATE',
      })
      .catch((err: unknown) => err);
    expect(again).toBeInstanceOf(Error);
    expect(history.ids.size).toBe(3);

    await saveHistory(client, workflowId.provision(key), 'provisionWorkers');
    await saveHistory(client, workflowId.burstWorker(first), 'burstWorker-expired');
  });

  it('refuses invalid input with ValidationFailed naming the field, even when started directly', async () => {
    const key = uniqueName('invalid');
    const err = await client.workflow
      .execute(WorkflowType.provisionWorkers, {
        taskQueue: worker.taskQueue,
        workflowId: workflowId.provision(key),
        args: [{ count: 0, ttlSeconds: 10, size: 'huge', idempotencyKey: key }],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe(ErrorCode.ValidationFailed);
    expect(cause?.message).toMatch(/count: must be at least 1/);
    expect(cause?.message).toMatch(/size: must be one of/);
  });

  it('extends the TTL with the extendTtl update and tears down at once on destroyNow', async () => {
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
    const before = ((await handle.query('status')) as OperationStatus).expiresAt as string;
    const extended = (await handle.executeUpdate('extendTtl', { args: [{ seconds: 600 }] })) as {
      expiresAt: string;
    };
    expect(Date.parse(extended.expiresAt) - Date.parse(before)).toBe(600_000);
    const node = await core.readNode({ name });
    expect(node.metadata?.annotations?.[EXPIRES_AT_ANNOTATION]).toBe(extended.expiresAt);
    const rejected = await handle
      .executeUpdate('extendTtl', { args: [{ seconds: -5 }] })
      .catch((e: unknown) => e);
    expect(rejected).toBeInstanceOf(WorkflowUpdateFailedError);
    expect((rejected as WorkflowUpdateFailedError).cause?.message).toMatch(/must be positive/);

    await handle.executeUpdate('destroyNow', { args: [{}] });
    const result = (await handle.result()) as BurstWorkerResult;
    expect(result.outcome).toBe('destroyed');
    expect(await nodeOrNull(name)).toBeNull();
    expect(await vms.findVmByName(name)).toBeNull();
  });
});

describe('a VM that never joins', () => {
  it('is deleted after the registration timeout; the workflow fails with JoinTimeout and a clear reason', async () => {
    const config = testConfig({
      provider: { sandbox: { fault: { never_join_rate: 1 } } },
      burst_workers: { registration_timeout_seconds: 4 },
    });
    const history = await recordVmHistory(kc, config.provider.sandbox.namespace);
    const worker = await startTestWorker(config);
    const { client, close } = await temporalClient();
    const vms = createVmProvider(config, { kube: kc });
    try {
      const name = uniqueName(config.burst_workers.name_prefix);
      const err = await client.workflow
        .execute(WorkflowType.burstWorker, {
          taskQueue: worker.taskQueue,
          workflowId: workflowId.burstWorker(name),
          args: [{ name, sizeName: 'small', ttlSeconds: 60 }],
        })
        .catch((e: unknown) => e);
      expect(err).toBeInstanceOf(WorkflowFailedError);
      const cause = (err as WorkflowFailedError).cause as ApplicationFailure;
      expect(cause.type, cause.message).toBe(ErrorCode.JoinTimeout);
      expect(cause.message).toMatch(/never joined/);
      expect(cause.message).toMatch(/registration_timeout_seconds=4/);
      expect(history.ids.get(name)?.size).toBe(1);
      expect(await vms.findVmByName(name)).toBeNull();
      expect(await nodeOrNull(name)).toBeNull();
      const status = (await client.workflow
        .getHandle(workflowId.burstWorker(name))
        .query('status')) as OperationStatus;
      expect(status.phase).toBe('failed');
      expect(status.lastError?.code).toBe(ErrorCode.JoinTimeout);
      expect(status.steps.find((s) => s.name === 'compensate_delete_vm')?.status).toBe('succeeded');
      await saveHistory(client, workflowId.burstWorker(name), 'burstWorker-never-joins');
    } finally {
      history.stop();
      await worker.shutdown();
      await close();
      await vms.close();
    }
  });
});
