/**
 * The reaper against the real stack: it removes an expired burst node whose lifetime
 * run is gone, an orphan VM, and a burst node whose VM vanished; it never touches a
 * permanent or protected node. Its Schedule is created and updated idempotently.
 */
import { CoreV1Api, PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { type Client, ScheduleOverlapPolicy } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVmProvider } from '../../activities/vm/index.js';
import type { VmProvider } from '../../activities/vm/provider.js';
import type { Config } from '../../core/config.js';
import {
  EXPIRES_AT_ANNOTATION,
  MANAGED_BY_LABEL,
  MANAGED_BY_VALUE,
  PROTECTED_ANNOTATION,
  TTL_ANNOTATION,
  VM_ID_ANNOTATION,
} from '../../core/labels.js';
import { type OperationStatus, type ReaperResult, WorkflowType, workflowId } from '../../core/operations.js';
import { isNodeReady } from '../../core/worker.js';
import { ensureReaperSchedule } from '../../worker/schedule.js';
import type { RunningWorker } from '../../worker/worker.js';
import { kubeConfig, uniqueName } from '../support/stack.js';
import {
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

describe('reaper', () => {
  let config: Config;
  let worker: RunningWorker;
  let client: Client;
  let closeClient: () => Promise<void>;
  let vms: VmProvider;
  const created: string[] = [];

  beforeAll(async () => {
    config = testConfig({ burst_workers: { orphan_vm_grace_seconds: 1 } });
    worker = await startTestWorker(config);
    ({ client, close: closeClient } = await temporalClient());
    vms = createVmProvider(config, { kube: kc });
  });

  afterAll(async () => {
    for (const name of created) await core.deleteNode({ name }).catch(() => undefined);
    await worker?.shutdown();
    await closeClient?.();
    await vms?.close();
  });

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

  it('removes an expired node without a lifetime run, an orphan VM and a node whose VM vanished; never a permanent node', async () => {
    const past = new Date(Date.now() - 3_600_000).toISOString();
    const burstLabels = {
      [config.burst_workers.label.key]: config.burst_workers.label.value,
      [MANAGED_BY_LABEL]: MANAGED_BY_VALUE,
    };

    // 1. Expired, lifetime run terminated.
    const expired = await provisionOne();
    await client.workflow.getHandle(workflowId.burstWorker(expired)).terminate('test: lost lifetime run');
    await core.patchNode(
      { name: expired, body: { metadata: { annotations: { [EXPIRES_AT_ANNOTATION]: past } } } },
      mergePatch,
    );
    const expiredVm = await vms.findVmByName(expired);

    // 2. VM vanished behind the system's back: the node goes NotReady.
    const vanished = await provisionOne();
    await client.workflow.getHandle(workflowId.burstWorker(vanished)).terminate('test: lost lifetime run');
    await vms.deleteVm((await vms.findVmByName(vanished))?.id as string);
    await waitUntil('NotReady', async () => {
      const n = await nodeOrNull(vanished);
      return n !== null && !isNodeReady(n);
    });

    // 3. Orphan VM: owned, no node, older than the grace period.
    const orphan = uniqueName(config.burst_workers.name_prefix);
    await vms.createVm({
      name: orphan,
      sizeName: 'small',
      size: config.worker_sizes.small as { cpu: number; memory_gb: number; disk_gb: number },
      userData: '',
    });

    // 4. Permanent (no ownership label) and protected nodes, expired and NotReady: never touched.
    const permanent = uniqueName(config.burst_workers.name_prefix);
    const protectedNode = uniqueName(config.burst_workers.name_prefix);
    created.push(permanent, protectedNode);
    await core.createNode({
      body: {
        metadata: {
          name: permanent,
          labels: { [config.burst_workers.label.key]: config.burst_workers.label.value },
          annotations: {
            [EXPIRES_AT_ANNOTATION]: past,
            [TTL_ANNOTATION]: '1',
            [VM_ID_ANNOTATION]: 'sb-gone',
          },
        },
      },
    });
    await core.createNode({
      body: {
        metadata: {
          name: protectedNode,
          labels: burstLabels,
          annotations: {
            [EXPIRES_AT_ANNOTATION]: past,
            [VM_ID_ANNOTATION]: 'sb-gone',
            [PROTECTED_ANNOTATION]: 'true',
          },
        },
      },
    });
    await new Promise((r) => setTimeout(r, 1500)); // the orphan's grace period

    const runId = uniqueName('reaper-run');
    const result = (await client.workflow.execute(WorkflowType.reaper, {
      taskQueue: worker.taskQueue,
      workflowId: runId,
      args: [{ namePrefix: config.burst_workers.name_prefix }],
    })) as ReaperResult;
    expect(result.errors).toEqual([]);
    expect(result.expiredDestroyed).toEqual([expired]);
    expect(result.vanishedNodesDeleted).toEqual([vanished]);
    expect(result.orphanVmsDeleted).toEqual([orphan]);

    expect(await nodeOrNull(expired)).toBeNull();
    expect(await vms.getVm(expiredVm?.id as string)).toBeNull();
    expect(await nodeOrNull(vanished)).toBeNull();
    expect(await vms.findVmByName(orphan)).toBeNull();
    expect(await nodeOrNull(permanent)).not.toBeNull();
    expect(await nodeOrNull(protectedNode)).not.toBeNull();
    await saveHistory(client, runId, 'reaper');

    // A second pass finds nothing to do.
    const again = (await client.workflow.execute(WorkflowType.reaper, {
      taskQueue: worker.taskQueue,
      workflowId: uniqueName('reaper-run'),
      args: [{ namePrefix: config.burst_workers.name_prefix }],
    })) as ReaperResult;
    expect(again).toEqual({
      expiredDestroyed: [],
      orphanVmsDeleted: [],
      vanishedNodesDeleted: [],
      errors: [],
    });
  });

  it('creates the reaper Schedule, then updates it in place (interval, overlap SKIP)', async () => {
    const scheduleId = uniqueName('reaper-schedule');
    const opts = { scheduleId, taskQueue: worker.taskQueue };
    try {
      expect(await ensureReaperSchedule(client, { ...opts, intervalSeconds: 45 })).toBe('created');
      expect(await ensureReaperSchedule(client, { ...opts, intervalSeconds: 60 })).toBe('updated');
      const d = await client.schedule.getHandle(scheduleId).describe();
      expect(d.spec.intervals?.[0]?.every).toBe(60_000);
      expect(d.policies.overlap).toBe(ScheduleOverlapPolicy.SKIP);
      expect(d.action.type).toBe('startWorkflow');
      expect(d.action.type === 'startWorkflow' ? d.action.workflowType : '').toBe(WorkflowType.reaper);
    } finally {
      await client.schedule.getHandle(scheduleId).delete();
    }
  });
});
