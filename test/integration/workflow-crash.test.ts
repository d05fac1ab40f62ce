/**
 * Durability: the worker *process* is killed with SIGKILL during each step of a burst
 * worker's life in turn (create VM, wait for join, label, drain, delete VM, delete node)
 * and started again. Every workflow completes, exactly one VM per worker ever existed
 * (a real WATCH on the sandbox's VM records), and none is left.
 */
import { CoreV1Api } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { createVmProvider } from '../../activities/vm/index.js';
import {
  type BurstWorkerResult,
  type ProvisionStatus,
  type ProvisionWorkersResult,
  WorkflowType,
  workflowId,
} from '../../core/operations.js';
import { kubeConfig, uniqueName } from '../support/stack.js';
import {
  recordVmHistory,
  saveHistory,
  spawnWorkerProcess,
  temporalClient,
  testConfig,
  testWorkflowBundle,
  type WorkerProcess,
  waitUntil,
} from '../support/worker-process.js';

const kc = kubeConfig();
const core = kc.makeApiClient(CoreV1Api);

/** Each step's side effect is applied, then the activity lingers: the kill lands after the effect. */
const DELAYS_MS = {
  'createVm:after': 2500,
  waitForNodeReady: 2500,
  'markBurstNode:after': 2500,
  'drainNode:after': 2500,
  'deleteVm:after': 2500,
  'deleteNode:after': 2500,
};
/** Phase of the burst worker → the delay hook inside which the worker process is killed. */
const KILL_IN_PHASES: ReadonlyArray<readonly [string, string]> = [
  ['creating_vm', 'createVm:after'],
  ['waiting_for_node', 'waitForNodeReady'],
  ['labelling', 'markBurstNode:after'],
  ['draining', 'drainNode:after'],
  ['deleting_vm', 'deleteVm:after'],
  ['deleting_node', 'deleteNode:after'],
];

describe('worker process killed during each step', () => {
  it('every workflow completes, exactly one VM per worker ever existed, none is left', async () => {
    const config = testConfig();
    const taskQueue = uniqueName('tq-crash');
    const bundlePath = await testWorkflowBundle();
    const history = await recordVmHistory(kc, config.provider.sandbox.namespace);
    const { client, close } = await temporalClient();
    const vms = createVmProvider(config, { kube: kc });
    const start = async () => {
      const p = spawnWorkerProcess(config, taskQueue, { activityDelaysMs: DELAYS_MS, bundlePath });
      await p.ready;
      return p;
    };
    let proc: WorkerProcess = await start();
    try {
      const key = uniqueName('crash');
      const handle = await client.workflow.start(WorkflowType.provisionWorkers, {
        taskQueue,
        workflowId: workflowId.provision(key),
        args: [{ count: 2, ttlSeconds: 3, size: 'small', idempotencyKey: key }],
      });
      const names = await waitUntil(
        'reserved names',
        async () => {
          const s = (await handle.query('status')) as ProvisionStatus;
          if (s.workers?.length === 2) return s.workers.map((w) => w.name);
          throw new Error(
            `provision status ${JSON.stringify(s)}; worker output ends with:\n${proc.output().slice(-3000)}`,
          );
        },
        120_000,
      );
      const watched = client.workflow.getHandle(workflowId.burstWorker(names[0] as string));

      const killedIn: string[] = [];
      for (const [phase, hook] of KILL_IN_PHASES) {
        // The activity announces its delay window once its side effect is applied ("…:after");
        // waiting for that line, not polling the phase, makes the kill land inside the step.
        const line = `[activity-delay] ${hook} ${watched.workflowId} `;
        await waitUntil(
          `the ${hook} window of ${watched.workflowId}`,
          async () => {
            if (proc.output().includes(line)) return true;
            throw new Error(
              `no "${line.trim()}" yet; worker output ends with:\n${proc.output().slice(-3000)}`,
            );
          },
          180_000,
          50,
        );
        await proc.kill('SIGKILL');
        // The server still sees the step's activity as running (until its heartbeat timeout):
        // the kill landed inside it.
        const described = await watched.describe();
        const pending = (described.raw.pendingActivities ?? []).map((a) => a.activityType?.name);
        expect(pending, `pending activities after a kill in ${phase}`).toContain(hook.replace(':after', ''));
        proc = await start();
        killedIn.push(phase);
      }
      expect(killedIn).toEqual(KILL_IN_PHASES.map(([phase]) => phase));

      const provision = (await handle.result()) as ProvisionWorkersResult;
      expect(provision.workers.map((w) => w.outcome)).toEqual(['ready', 'ready']);
      for (const name of names) {
        const result = (await client.workflow
          .getHandle(workflowId.burstWorker(name))
          .result()) as BurstWorkerResult;
        expect(result.outcome).toBe('expired');
        expect(history.ids.get(name)?.size, `VMs ever created for ${name}`).toBe(1);
        await expect(core.readNode({ name })).rejects.toThrow();
      }
      expect(history.ids.size).toBe(2);
      expect(await vms.listOwnedVms()).toEqual([]);
      await saveHistory(client, workflowId.provision(key), 'provisionWorkers-worker-killed');
      await saveHistory(client, workflowId.burstWorker(names[0] as string), 'burstWorker-worker-killed');
    } finally {
      await proc.kill('SIGKILL');
      history.stop();
      await close();
      await vms.close();
    }
  }, 420_000);

  it('shuts down gracefully on SIGTERM', async () => {
    const config = testConfig();
    const proc = spawnWorkerProcess(config, uniqueName('tq-term'), {
      bundlePath: await testWorkflowBundle(),
    });
    await proc.ready;
    const code = await proc.kill('SIGTERM');
    expect(code).toBe(0);
    expect(proc.output()).toMatch(/SIGTERM received, shutting down/);
    expect(proc.output()).toMatch(/worker stopped/);
  });
});
