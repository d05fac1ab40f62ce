/**
 * burstWorker: the whole life of one burst worker (id `burst-worker:<name>`).
 * create VM → start (launch timeout) → node registers and is Ready (registration
 * timeout) → label/annotate, remove the startup taint → Ready → durable TTL timer
 * (extendTtl / destroyNow updates) → drain with a deadline → delete VM → delete node.
 * A failure before Ready compensates (VM deleted, a late-joined node removed).
 */
import {
  ApplicationFailure,
  CancellationScope,
  condition,
  getExternalWorkflowHandle,
  isCancellation,
  setHandler,
  workflowInfo,
} from '@temporalio/workflow';
import type { VmInfo, WorkflowPolicy } from '../activities/types.js';
import type { BurstWorkerInput, BurstWorkerResult, OperationStatus } from '../core/operations.js';
import { drains, kube, vms, waits } from './activities.js';
import { destroyNowUpdate, extendTtlUpdate, statusQuery, workerReadySignal } from './messages.js';
import { OperationTracker, typedFailure } from './status.js';
import { burstWorkerInputSchema, parseInput } from './validation.js';

/** Phases of the lifetime, in order (also the BurstPhase search attribute values). */
export const BurstPhase = {
  validating: 'validating',
  creatingVm: 'creating_vm',
  startingVm: 'starting_vm',
  waitingForNode: 'waiting_for_node',
  labelling: 'labelling',
  ready: 'ready',
  checking: 'checking',
  draining: 'draining',
  deletingVm: 'deleting_vm',
  deletingNode: 'deleting_node',
  compensating: 'compensating',
  completed: 'completed',
  failed: 'failed',
} as const;

const iso = (ms: number) => new Date(ms).toISOString();

export async function burstWorker(input: BurstWorkerInput): Promise<BurstWorkerResult> {
  const name = input.name;
  const t = new OperationTracker<OperationStatus>({
    operationId: workflowInfo().workflowId,
    type: 'burst_worker',
    worker: name,
    phase: BurstPhase.validating,
  });
  setHandler(statusQuery, () => t.snapshot());

  let policy: WorkflowPolicy | undefined;
  let readyAtMs: number | undefined;
  let expiresAtMs: number | undefined;
  let tearingDown = false;
  let destroyRequested = false;

  setHandler(
    extendTtlUpdate,
    async (req) => {
      const addSeconds = req.seconds ?? (req.hours ?? 0) * 3600;
      expiresAtMs = (expiresAtMs ?? Date.now()) + addSeconds * 1000;
      const expiresAt = iso(expiresAtMs);
      t.status.expiresAt = expiresAt;
      const ttlSeconds = Math.round((expiresAtMs - (readyAtMs ?? Date.now())) / 1000);
      await kube.setNodeExpiry({ name, expiresAt, ttlSeconds });
      return { worker: name, expiresAt };
    },
    {
      validator: (req) => {
        if (policy === undefined || expiresAtMs === undefined || readyAtMs === undefined) {
          throw new Error(
            `worker ${name} is not Ready yet (phase ${t.status.phase}); extend its TTL once Ready`,
          );
        }
        if (tearingDown || destroyRequested) {
          throw new Error(`worker ${name} is being torn down (phase ${t.status.phase})`);
        }
        const given = [req.hours, req.seconds].filter((v) => v !== undefined);
        if (given.length !== 1) throw new Error('give exactly one of hours or seconds');
        const amount = given[0] as number;
        if (!Number.isFinite(amount) || amount <= 0) throw new Error('the extension must be positive');
        const addMs = (req.seconds ?? (req.hours ?? 0) * 3600) * 1000;
        const maxMs = policy.burstWorkers.max_ttl_hours * 3_600_000;
        if (expiresAtMs + addMs - readyAtMs > maxMs) {
          throw new Error(
            `the total lifetime would exceed burst_workers.max_ttl_hours (${policy.burstWorkers.max_ttl_hours} hours)`,
          );
        }
      },
    },
  );
  setHandler(destroyNowUpdate, () => {
    destroyRequested = true;
    return { worker: name, acceptedInPhase: t.status.phase };
  });

  policy = await kube.getPolicy();
  const p = policy;
  parseInput(burstWorkerInputSchema(p), input, 'burstWorker');
  const bw = p.burstWorkers;

  // ── Launch, registration, initialization. Compensated on any failure. ──
  let vm: VmInfo | undefined;
  try {
    vm = await t.step('create_vm', () => vms.createVm({ name, sizeName: input.sizeName }), {
      phase: BurstPhase.creatingVm,
      detail: (v) => `vm ${v.id}`,
    });
    t.status.vmId = vm.id;
    const created = vm;
    const launchDeadline = iso(Date.now() + bw.launch_timeout_seconds * 1000);
    vm = await t.step('start_vm', () => waits.startVm({ vmId: created.id, deadline: launchDeadline }), {
      phase: BurstPhase.startingVm,
    });
    const running = vm;
    const registrationDeadline = iso(Date.now() + bw.registration_timeout_seconds * 1000);
    await t.step(
      'wait_for_node',
      () => waits.waitForNodeReady({ name, providerId: running.providerId, deadline: registrationDeadline }),
      { phase: BurstPhase.waitingForNode },
    );
    const createdAt = iso(Date.now());
    readyAtMs = Date.now();
    expiresAtMs = readyAtMs + input.ttlSeconds * 1000;
    const expiresAt = iso(expiresAtMs);
    t.status.expiresAt = expiresAt;
    await t.step(
      'label_node',
      () =>
        kube.markBurstNode({
          name,
          vmId: running.id,
          ttlSeconds: input.ttlSeconds,
          expiresAt,
          sizeName: input.sizeName,
          createdAt,
        }),
      { phase: BurstPhase.labelling },
    );
  } catch (err) {
    const error = t.recordError(err);
    await CancellationScope.nonCancellable(() => compensate(t, name, vm));
    t.setPhase(BurstPhase.failed);
    if (isCancellation(err)) throw err;
    throw ApplicationFailure.create({
      message: `burst worker ${name} failed before Ready and was rolled back: ${error.message}`,
      type: error.code,
      nonRetryable: true,
    });
  }

  t.setPhase(BurstPhase.ready);
  await tellParentReady(name);

  // ── Lifetime: a durable timer that updates can extend or cut short. ──
  let outcome: BurstWorkerResult['outcome'] = 'expired';
  try {
    for (;;) {
      if (destroyRequested) {
        outcome = 'destroyed';
        break;
      }
      const deadline = expiresAtMs as number;
      const remaining = deadline - Date.now();
      if (remaining <= 0) break;
      await condition(() => destroyRequested || expiresAtMs !== deadline, remaining);
    }
  } catch (err) {
    if (!isCancellation(err)) throw err;
    // Cancelling the lifetime run (Temporal UI) means "tear down now".
    outcome = 'destroyed';
  }

  tearingDown = true;
  const vmId = (vm as VmInfo).id;
  try {
    await CancellationScope.nonCancellable(() => tearDown(t, p, name, vmId));
  } catch (err) {
    t.setPhase(BurstPhase.failed);
    throw typedFailure(err);
  }
  const result: BurstWorkerResult = { worker: name, vmId, outcome };
  t.finish(result, BurstPhase.completed);
  return result;
}

/** Undo of the steps before Ready: delete the VM (by id, or by name if create's result was lost), then a late node. */
async function compensate(t: OperationTracker, name: string, vm: VmInfo | undefined): Promise<void> {
  t.setPhase(BurstPhase.compensating);
  await t.step('compensate_delete_vm', () => vms.deleteVm({ vmId: vm?.id, name }));
  await t.step('compensate_remove_late_node', () =>
    kube.removeLateNode({ name, providerId: vm?.providerId }),
  );
}

/** Check (positive ownership, not protected), drain with a deadline, delete VM, delete node. */
async function tearDown(t: OperationTracker, p: WorkflowPolicy, name: string, vmId: string): Promise<void> {
  const node = await t.step('check_destructible', () => kube.checkWorker({ name, force: true }), {
    phase: BurstPhase.checking,
  });
  if (node.exists) {
    // The TTL is forceful (Karpenter's expireAfter): evict with PDBs until the deadline, then delete.
    const options = await kube.resolveDrainOptions({
      ignoreDaemonsets: true,
      deleteEmptydirData: true,
      force: true,
      forceAfterDeadline: true,
      timeoutSeconds: p.drain.timeout_seconds,
    });
    const drained = await t.step('drain', () => drains.drainNode({ name, options }), {
      phase: BurstPhase.draining,
      detail: (d) =>
        `${d.completed ? 'completed' : 'incomplete'}: ${d.result.evicted.length} evicted, ${d.result.blocked.length} blocked, ${d.result.forceDeleted.length} force-deleted`,
    });
    if (drained.error) t.status.lastError = drained.error;
  } else {
    t.skip('drain', 'the node is gone');
  }
  await t.step('delete_vm', () => vms.deleteVm({ vmId, name }), { phase: BurstPhase.deletingVm });
  if (node.exists && node.uid) {
    const uid = node.uid;
    await t.step('delete_node', () => kube.deleteNode({ name, uid }), { phase: BurstPhase.deletingNode });
  } else {
    t.skip('delete_node', 'the node is gone');
  }
}

async function tellParentReady(name: string): Promise<void> {
  const parent = workflowInfo().parent;
  if (!parent) return;
  try {
    await getExternalWorkflowHandle(parent.workflowId, parent.runId).signal(workerReadySignal, { name });
  } catch {
    // The provision request already returned or was terminated: nobody is waiting.
  }
}
