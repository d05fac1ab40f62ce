/**
 * The burst-worker limit inside provisionWorkers (the check that holds when the workflow
 * is started directly, without the MCP server): a lifetime run that has not created its
 * VM yet already counts.
 */
import { type Client, WorkflowFailedError } from '@temporalio/client';
import { ApplicationFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createVmProvider } from '../../activities/vm/index.js';
import type { VmProvider } from '../../activities/vm/provider.js';
import type { Config } from '../../core/config.js';
import { ErrorCode } from '../../core/errors.js';
import {
  openBurstWorkerRunsQuery,
  type ProvisionStatus,
  WorkflowType,
  workflowId,
} from '../../core/operations.js';
import type { RunningWorker } from '../../worker/worker.js';
import { kubeConfig, uniqueName } from '../support/stack.js';
import { startTestWorker, temporalClient, testConfig, waitUntil } from '../support/worker-process.js';

describe('max_burst_workers in provisionWorkers', () => {
  let config: Config;
  let worker: RunningWorker | undefined;
  let client: Client;
  let closeClient: () => Promise<void>;
  let vms: VmProvider;

  beforeAll(async () => {
    // testConfig gives the suite a burst label of its own: other suites' burst nodes do not count.
    config = testConfig({ burst_workers: { max_burst_workers: 2 } });
    // createVm lingers before its side effect: the lifetime runs stay without a VM or a node.
    worker = await startTestWorker(config, { activityDelaysMs: { createVm: 60_000 } });
    ({ client, close: closeClient } = await temporalClient());
    vms = createVmProvider(config, { kube: kubeConfig() });
  });

  afterAll(async () => {
    await worker?.shutdown();
    await closeClient?.();
    await vms?.close();
  });

  it('counts running lifetime runs that have no VM yet', async () => {
    const taskQueue = (worker as RunningWorker).taskQueue;
    const first = uniqueName('lim-a');
    const handle = await client.workflow.start(WorkflowType.provisionWorkers, {
      taskQueue,
      workflowId: workflowId.provision(first),
      args: [{ count: 2, ttlSeconds: 3600, size: 'small', idempotencyKey: first }],
    });
    const names = await waitUntil('two lifetime runs started', async () => {
      const s = (await handle.query('status')) as ProvisionStatus;
      return s.workers?.length === 2 && s.phase === 'waiting_for_workers'
        ? s.workers.map((w) => w.name)
        : undefined;
    });
    // Listed by Temporal's visibility, with neither VM nor node yet.
    await waitUntil('the runs listed', async () => {
      let n = 0;
      for await (const _ of client.workflow.list({ query: openBurstWorkerRunsQuery(taskQueue) })) {
        n += 1;
      }
      return n === 2;
    });
    expect(await vms.listOwnedVms()).toEqual([]);

    const second = uniqueName('lim-b');
    const err = await client.workflow
      .execute(WorkflowType.provisionWorkers, {
        taskQueue,
        workflowId: workflowId.provision(second),
        args: [{ count: 1, ttlSeconds: 3600, size: 'small', idempotencyKey: second }],
      })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkflowFailedError);
    const cause = (err as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ApplicationFailure);
    expect((cause as ApplicationFailure).type).toBe(ErrorCode.LimitExceeded);
    expect(cause?.message).toMatch(
      /2 burst workers exist and 1 more would exceed burst_workers\.max_burst_workers \(2\)/,
    );

    // Clean up: stop the runs before their VMs are made, then the worker (cancelling the
    // lingering createVm activities), and check that no VM was left behind.
    await handle.terminate('test cleanup');
    for (const name of names) {
      await client.workflow.getHandle(workflowId.burstWorker(name)).terminate('test cleanup');
    }
    await worker?.shutdown();
    worker = undefined;
    for (const vm of await vms.listOwnedVms()) await vms.deleteVm(vm.id);
  });
});
