/**
 * drainWorker (id `drain:<name>`): refuses a protected or permanent worker and a worker
 * another mutating operation is working on; cordons; evicts under a deadline that is
 * fixed once (kept across activity retries, so a restarted worker resumes the same
 * drain); reports evicted / skipped / blocked pods.
 */
import { setHandler, workflowInfo } from '@temporalio/workflow';
import type { DrainWorkerInput, DrainWorkerResult } from '../core/operations.js';
import { drains, kube, runs } from './activities.js';
import { statusQuery } from './messages.js';
import { OperationTracker, typedFailure } from './status.js';
import { drainInputSchema, parseInput } from './validation.js';

export async function drainWorker(input: DrainWorkerInput): Promise<DrainWorkerResult> {
  const t = new OperationTracker({
    operationId: workflowInfo().workflowId,
    type: 'drain',
    worker: input.worker,
    phase: 'checking',
  });
  setHandler(statusQuery, () => t.snapshot());
  try {
    const req = parseInput(drainInputSchema, input, 'drainWorker');
    const name = req.worker;
    await t.step('check_conflicts', () => runs.assertNoConflict({ name, operation: 'drain' }));
    await t.step('check_worker', () => kube.checkWorker({ name, force: true, mustExist: true }));
    const options = await t.step('resolve_options', () =>
      kube.resolveDrainOptions({
        timeoutSeconds: req.timeoutSeconds,
        gracePeriodSeconds: req.gracePeriodSeconds,
        ignoreDaemonsets: req.ignoreDaemonsets,
        deleteEmptydirData: req.deleteEmptydirData,
        force: req.force,
        forceAfterDeadline: req.forceAfterDeadline,
      }),
    );
    await t.step('cordon', () => kube.cordonNode({ name }), { phase: 'cordoning' });
    const outcome = await t.step('evict', () => drains.drainNode({ name, options }), {
      phase: 'draining',
      detail: (d) =>
        `${d.result.evicted.length} evicted, ${d.result.skipped.length} skipped, ${d.result.blocked.length} blocked`,
    });
    if (outcome.error) t.status.lastError = outcome.error;
    t.finish(outcome.result, outcome.completed ? 'completed' : 'incomplete');
    return outcome.result;
  } catch (err) {
    t.recordError(err);
    t.setPhase('failed');
    throw typedFailure(err);
  }
}
