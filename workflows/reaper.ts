/**
 * reaper: started by a Temporal Schedule every cleanup_interval_seconds (overlap SKIP).
 * - expired burst nodes with no live burstWorker run → drainWorker, then destroyWorker;
 * - owned VMs with no node, older than the grace period, with no live run → delete VM;
 * - burst nodes whose VM is gone and that are NotReady, with no live run → delete Node.
 * Bounded concurrency; the result and the status query tell what it did.
 */
import { executeChild, log, setHandler, workflowInfo } from '@temporalio/workflow';
import { type ReaperResult, workflowId } from '../core/operations.js';
import { inventory, kube, vms } from './activities.js';
import { destroyWorker } from './destroy.js';
import { drainWorker } from './drain.js';
import { statusQuery } from './messages.js';
import { OperationTracker, toOperationError } from './status.js';

/** How many workers the reaper acts on at once. */
export const REAPER_CONCURRENCY = 4;

async function forEachLimited<T>(items: readonly T[], limit: number, fn: (item: T) => Promise<void>) {
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await fn(item);
    }
  });
  await Promise.all(lanes);
}

/** Optional scope (tests, or an operator limiting a manual run); the Schedule passes none. */
export interface ReaperInput {
  /** Only workers whose name starts with this prefix. */
  namePrefix?: string;
}

export async function reaper(input: ReaperInput = {}): Promise<ReaperResult> {
  const t = new OperationTracker({
    operationId: workflowInfo().workflowId,
    type: 'reaper',
    phase: 'planning',
  });
  setHandler(statusQuery, () => t.snapshot());
  const result: ReaperResult = {
    expiredDestroyed: [],
    orphanVmsDeleted: [],
    vanishedNodesDeleted: [],
    errors: [],
  };
  const plan = await t.step('plan', () => inventory.planReap({ namePrefix: input.namePrefix }), {
    detail: (p) =>
      `${p.expired.length} expired, ${p.orphanVms.length} orphan VMs, ${p.vanished.length} vanished nodes`,
  });

  t.setPhase('reaping');
  const fail = (what: string, err: unknown) => {
    const e = toOperationError(err);
    result.errors.push({ code: e.code, message: `${what}: ${e.message}` });
    log.warn('reaper: step failed', { what, error: e });
  };
  await forEachLimited(plan.expired, REAPER_CONCURRENCY, async (name) => {
    try {
      await executeChild(drainWorker, {
        workflowId: workflowId.drain(name),
        args: [{ worker: name, forceAfterDeadline: true, force: true, requestedBy: 'reaper' }],
      });
    } catch (err) {
      // The TTL is forceful: an incomplete drain does not keep an expired worker alive.
      fail(`drain ${name}`, err);
    }
    try {
      await executeChild(destroyWorker, {
        workflowId: workflowId.destroy(name),
        args: [{ worker: name, force: true, requestedBy: 'reaper' }],
      });
      result.expiredDestroyed.push(name);
    } catch (err) {
      fail(`destroy ${name}`, err);
    }
  });
  await forEachLimited(plan.orphanVms, REAPER_CONCURRENCY, async (vm) => {
    try {
      await vms.deleteVm({ vmId: vm.id });
      result.orphanVmsDeleted.push(vm.name);
    } catch (err) {
      fail(`delete orphan VM ${vm.name} (${vm.id})`, err);
    }
  });
  await forEachLimited(plan.vanished, REAPER_CONCURRENCY, async (node) => {
    try {
      await kube.deleteNode({ name: node.name, uid: node.uid });
      result.vanishedNodesDeleted.push(node.name);
    } catch (err) {
      fail(`delete node ${node.name}`, err);
    }
  });
  log.info('reaper: done', { ...result });
  t.finish(result);
  return result;
}
