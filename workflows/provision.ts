/**
 * provisionWorkers (id `provision:<idempotency key>`): validates, reserves names,
 * starts one burstWorker child per worker (they outlive this workflow: ABANDON), and
 * returns once every child is Ready or failed, with a per-worker outcome.
 */
import {
  condition,
  ParentClosePolicy,
  setHandler,
  startChild,
  uuid4,
  WorkflowIdReusePolicy,
  workflowInfo,
} from '@temporalio/workflow';
import { ErrorCode } from '../core/errors.js';
import {
  type ProvisionedWorker,
  type ProvisionStatus,
  type ProvisionWorkersInput,
  type ProvisionWorkersResult,
  workflowId,
} from '../core/operations.js';
import { inventory, kube } from './activities.js';
import { burstWorker } from './burst-worker.js';
import { provisionStatusQuery, workerReadySignal } from './messages.js';
import { OperationTracker, toOperationError } from './status.js';
import { nonRetryable, parseInput, provisionInputSchema } from './validation.js';

export async function provisionWorkers(input: ProvisionWorkersInput): Promise<ProvisionWorkersResult> {
  const operationId = workflowInfo().workflowId;
  const t = new OperationTracker<ProvisionStatus>({ operationId, type: 'provision', phase: 'validating' });
  setHandler(provisionStatusQuery, () => t.snapshot());
  const ready = new Set<string>();
  setHandler(workerReadySignal, ({ name }) => {
    ready.add(name);
  });

  const policy = await kube.getPolicy();
  const req = parseInput(provisionInputSchema(policy), input, 'provisionWorkers');
  const max = policy.burstWorkers.max_burst_workers;
  const current = await t.step('check_limits', () => inventory.countBurstWorkers(), {
    detail: (c) => `${c.total} burst workers exist`,
  });
  if (current.total + req.count > max) {
    const err = nonRetryable(
      ErrorCode.LimitExceeded,
      `count: ${current.total} burst workers exist and ${req.count} more would exceed burst_workers.max_burst_workers (${max})`,
    );
    t.recordError(err);
    t.setPhase('failed');
    throw err;
  }

  // Names: prefix + random suffix from the workflow's deterministic uuid; reserved at once.
  const workers: ProvisionedWorker[] = [];
  for (let i = 0; i < req.count; i++) {
    const name = `${policy.burstWorkers.name_prefix}-${uuid4().replace(/-/g, '').slice(0, 8)}`;
    workers.push({ name, workflowId: workflowId.burstWorker(name), outcome: 'pending' });
  }
  t.status.workers = workers;
  t.setPhase('starting');

  const handles = await Promise.all(
    workers.map((w) =>
      startChild(burstWorker, {
        workflowId: w.workflowId,
        args: [
          { name: w.name, sizeName: req.size, ttlSeconds: req.ttlSeconds, requestedBy: req.requestedBy },
        ],
        parentClosePolicy: ParentClosePolicy.ABANDON,
        workflowIdReusePolicy: WorkflowIdReusePolicy.REJECT_DUPLICATE,
      }),
    ),
  );
  t.setPhase('waiting_for_workers');

  await Promise.all(
    handles.map(async (h, i) => {
      const w = workers[i] as ProvisionedWorker;
      // Either the child's Ready signal, or its end (a failure before Ready, or a very short life).
      const done = h.result().then(
        () => 'ended' as const,
        (err: unknown) => err,
      );
      const readySignal = condition(() => ready.has(w.name)).then(() => 'ready' as const);
      const first = await Promise.race([done, readySignal]);
      if (first === 'ready' || first === 'ended') {
        w.outcome = 'ready';
      } else {
        w.outcome = 'failed';
        w.error = toOperationError(first);
      }
    }),
  );

  const result: ProvisionWorkersResult = {
    operationId,
    workers: JSON.parse(JSON.stringify(workers)) as ProvisionedWorker[],
  };
  const failed = workers.filter((w) => w.outcome === 'failed').length;
  t.finish(result, failed === 0 ? 'completed' : failed === workers.length ? 'failed' : 'partially_failed');
  return result;
}
