/**
 * destroyWorker (id `destroy:<name>`): the checks first (burst and not protected, always;
 * drained unless force), refused with the rule named. Then, when a live burstWorker run
 * owns the worker, it asks that run to tear down (one owner of a lifecycle) and waits
 * for it; otherwise it deletes the VM and the Node itself, each delete re-checking
 * safety inside the activity (the node delete carries the checked uid).
 */
import { setHandler, workflowInfo } from '@temporalio/workflow';
import { ErrorCode } from '../core/errors.js';
import type { DestroyWorkerInput, DestroyWorkerResult } from '../core/operations.js';
import { kube, runs, vms } from './activities.js';
import { statusQuery } from './messages.js';
import { OperationTracker, typedFailure } from './status.js';
import { destroyInputSchema, nonRetryable, parseInput } from './validation.js';

export async function destroyWorker(input: DestroyWorkerInput): Promise<DestroyWorkerResult> {
  const operationId = workflowInfo().workflowId;
  const t = new OperationTracker({ operationId, type: 'destroy', worker: input.worker, phase: 'checking' });
  setHandler(statusQuery, () => t.snapshot());
  try {
    const req = parseInput(destroyInputSchema, input, 'destroyWorker');
    const name = req.worker;
    await t.step('check_conflicts', () => runs.assertNoConflict({ name, operation: 'destroy' }));
    const node = await t.step('check_worker', () => kube.checkWorker({ name, force: req.force }), {
      detail: (n) => (n.exists ? `node uid ${n.uid}` : 'node absent'),
    });
    const owned = await t.step('delegate_to_lifetime_run', () =>
      runs.delegateTeardown({ name, requestedBy: req.requestedBy ?? operationId }),
    );
    if (owned.delegated) {
      const result: DestroyWorkerResult = {
        worker: name,
        via: 'burst_worker_run',
        vmDeleted: true,
        nodeDeleted: node.exists,
      };
      t.finish(result);
      return result;
    }
    if (!node.exists) {
      throw nonRetryable(ErrorCode.WorkerNotFound, `worker "${name}" does not exist`);
    }
    t.setPhase('deleting_vm');
    const vm = await t.step('delete_vm', () => vms.deleteVm({ vmId: node.vmId, name, guardNode: true }));
    t.setPhase('deleting_node');
    const uid = node.uid as string;
    const deleted = await t.step('delete_node', () => kube.deleteNode({ name, uid }));
    const result: DestroyWorkerResult = {
      worker: name,
      via: 'direct',
      vmDeleted: vm.deleted,
      nodeDeleted: deleted.deleted,
    };
    t.finish(result);
    return result;
  } catch (err) {
    t.recordError(err);
    t.setPhase('failed');
    throw typedFailure(err);
  }
}
