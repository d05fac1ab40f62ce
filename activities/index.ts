/**
 * The activity factory: thin wrappers over the Kubernetes layer, the VM provider and the
 * Temporal client (for "is there a live lifetime run"), built over injected clients.
 * Every activity heartbeats while it runs (so a killed worker's activity is retried
 * within the heartbeat timeout), and every WorkerError becomes an ApplicationFailure
 * whose type is the ErrorCode, non-retryable for validation and safety codes.
 */

import type { V1Node } from '@kubernetes/client-node';
import { ApplicationFailure, Context } from '@temporalio/activity';
import {
  type Client,
  WorkflowFailedError,
  WorkflowNotFoundError,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import type { Config } from '../core/config.js';
import { ACTIVITY_FINAL_CODES, ErrorCode, WorkerError } from '../core/errors.js';
import { MANAGED_BY_LABEL, STARTUP_TAINT_KEY, VM_ID_ANNOTATION } from '../core/labels.js';
import {
  type BurstWorkerResult,
  type DrainWorkerResult,
  MessageName,
  openBurstWorkerRunsQuery,
  workflowId,
} from '../core/operations.js';
import { HEARTBEAT_INTERVAL_MS } from '../core/retry.js';
import { checkDestroy, checkDestructible, matchesProtectedPattern } from '../core/safety.js';
import { isNodeReady, ttlOf, workerTypeOf } from '../core/worker.js';
import { statusOf } from './kubernetes/client.js';
import type { DrainOptions } from './kubernetes/drain.js';
import * as k8s from './kubernetes/index.js';
import { listAllNodes } from './kubernetes/inventory.js';
import type { DrainOutcome, DrainOverrides, NodeCheck, ReapPlan, VmInfo, WorkflowPolicy } from './types.js';
import { type Vm, type VmProvider, VmProviderError } from './vm/provider.js';

export type * from './types.js';

export interface ActivityDeps {
  config: Config;
  kube: k8s.KubeClients;
  vms: VmProvider;
  /** Client of the worker's Temporal namespace: lifetime-run lookups (destroy, reaper, conflicts). */
  temporal: Client;
  /**
   * Test hooks (to SIGKILL a worker mid-step): extra delay in ms by activity name, before
   * the activity runs (`name`) or after its side effect, before it returns (`name:after`).
   * Each delay is announced on stderr as `[activity-delay] <hook> <workflow id> <ms>ms`.
   */
  delaysMs?: Readonly<Record<string, number>>;
  now?: () => Date;
}

/** The burstWorker teardown phases: a drain must not race them. */
const TEARDOWN_PHASES = new Set(['checking', 'draining', 'deleting_vm', 'deleting_node']);

const progressByContext = new WeakMap<Context, unknown>();

function currentContext(): Context | undefined {
  try {
    return Context.current();
  } catch {
    return undefined; // called outside an activity (unit tests)
  }
}

/** Heartbeats resumable details (also repeated by the auto-heartbeat). */
function progress(details: unknown): void {
  const ctx = currentContext();
  if (!ctx) return;
  progressByContext.set(ctx, details);
  ctx.heartbeat(details);
}

function signalOf(): AbortSignal | undefined {
  return currentContext()?.cancellationSignal;
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason);
      },
      { once: true },
    );
  });
}

/** Maps errors of the lower layers to Temporal failures typed by ErrorCode. */
export function toFailure(err: unknown): unknown {
  if (err instanceof ApplicationFailure) return err;
  if (err instanceof VmProviderError) {
    return ApplicationFailure.create({
      message: err.message,
      type: err.code,
      nonRetryable: !err.retryable,
      details: err.details ? [err.details] : undefined,
      cause: err,
    });
  }
  if (err instanceof WorkerError) {
    const nonRetryable = ACTIVITY_FINAL_CODES.includes(err.code);
    return ApplicationFailure.create({
      message: err.message,
      type: err.code,
      nonRetryable,
      details: err.details ? [err.details] : undefined,
    });
  }
  return err;
}

type AsyncFn = (...args: never[]) => Promise<unknown>;

function wrap<T extends Record<string, AsyncFn>>(fns: T, delaysMs: Readonly<Record<string, number>>): T {
  const out: Record<string, AsyncFn> = {};
  for (const [name, fn] of Object.entries(fns)) {
    out[name] = async (...args: never[]) => {
      const ctx = currentContext();
      const timer = ctx
        ? setInterval(() => ctx.heartbeat(progressByContext.get(ctx)), HEARTBEAT_INTERVAL_MS)
        : undefined;
      try {
        const linger = async (hook: string) => {
          const ms = delaysMs[hook];
          if (!ms) return;
          // Announced on stderr so that a test can kill the process inside this window.
          process.stderr.write(
            `[activity-delay] ${hook} ${ctx?.info.workflowExecution?.workflowId ?? '-'} ${ms}ms\n`,
          );
          await sleep(ms, ctx?.cancellationSignal);
        };
        await linger(name);
        const result = await fn(...args);
        await linger(`${name}:after`);
        return result;
      } catch (err) {
        throw toFailure(err);
      } finally {
        if (timer) clearInterval(timer);
      }
    };
  }
  return out as T;
}

function vmInfo(vm: Vm): VmInfo {
  return { id: vm.id, name: vm.name, state: vm.state, providerId: vm.providerId, createdAt: vm.createdAt };
}

function refusal(verdict: { code: ErrorCode; rule: string; message: string }, name: string): WorkerError {
  return new WorkerError(verdict.code, verdict.message, { worker: name, rule: verdict.rule });
}

function joinTimeout(message: string, name: string): WorkerError {
  return new WorkerError(ErrorCode.JoinTimeout, message, { worker: name });
}

export function createActivities(deps: ActivityDeps) {
  const { config, kube, vms, temporal } = deps;
  const now = deps.now ?? (() => new Date());

  /** True when `burst-worker:<name>` has a running execution. */
  async function lifetimeRunStatus(name: string): Promise<{ running: boolean; phase?: string }> {
    const handle = temporal.workflow.getHandle(workflowId.burstWorker(name));
    try {
      const d = await handle.describe();
      if (d.status.name !== 'RUNNING') return { running: false };
      let phase: string | undefined;
      try {
        phase = ((await handle.query(MessageName.status)) as { phase?: string }).phase;
      } catch {
        phase = undefined; // no worker answering right now: running, phase unknown
      }
      return { running: true, phase };
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return { running: false };
      throw err;
    }
  }

  async function isRunning(id: string): Promise<boolean> {
    try {
      const d = await temporal.workflow.getHandle(id).describe();
      return d.status.name === 'RUNNING';
    } catch (err) {
      if (err instanceof WorkflowNotFoundError) return false;
      throw err;
    }
  }

  async function deleteNodeGuardedByProvider(node: V1Node, why: string): Promise<boolean> {
    const name = node.metadata?.name ?? '';
    if (matchesProtectedPattern(name, config.safety.protected_worker_patterns) !== null) {
      throw new WorkerError(
        ErrorCode.ProtectedWorker,
        `refused: ${why}: node "${name}" matches a protected pattern`,
      );
    }
    try {
      await kube.core.deleteNode({
        name,
        body: {
          preconditions: {
            uid: node.metadata?.uid ?? '',
            resourceVersion: node.metadata?.resourceVersion ?? '',
          },
        },
      });
      return true;
    } catch (err) {
      const status = statusOf(err);
      if (status === 404) return false;
      if (status === 409) throw new Error(`node "${name}" changed during the delete; retrying`);
      throw err;
    }
  }

  const activities = {
    /** The configuration a workflow needs (recorded in history: replays see the same values). */
    async getPolicy(): Promise<WorkflowPolicy> {
      return {
        providerType: config.provider.type,
        burstWorkers: config.burst_workers,
        workerSizes: Object.keys(config.worker_sizes),
        safety: {
          protected_worker_patterns: config.safety.protected_worker_patterns,
          require_drain_before_destroy: config.safety.require_drain_before_destroy,
        },
        drain: config.drain,
      };
    },

    /**
     * Burst workers that exist or are being created, by name: burst nodes, owned VMs, and
     * the running lifetime runs of this task queue (a run counts before its VM exists).
     */
    async countBurstWorkers(): Promise<{ total: number }> {
      const taskQueue = currentContext()?.info.taskQueue ?? config.temporal.task_queue;
      const runs = async (): Promise<string[]> => {
        const names: string[] = [];
        const prefix = workflowId.burstWorker('');
        for await (const info of temporal.workflow.list({ query: openBurstWorkerRunsQuery(taskQueue) })) {
          if (info.workflowId.startsWith(prefix)) names.push(info.workflowId.slice(prefix.length));
        }
        return names;
      };
      const [nodes, owned, running] = await Promise.all([listAllNodes(kube), vms.listOwnedVms(), runs()]);
      const names = new Set<string>([...owned.map((v) => v.name), ...running]);
      for (const n of nodes) {
        if (workerTypeOf(n, config.burst_workers.label) === 'burst') names.add(n.metadata?.name ?? '');
      }
      return { total: names.size };
    },

    /** Creates the VM (idempotent on the name: a retried or replayed create returns the same VM). */
    async createVm(input: { name: string; sizeName: string }): Promise<VmInfo> {
      const size = config.worker_sizes[input.sizeName];
      if (!size) throw new WorkerError(ErrorCode.ValidationFailed, `size: unknown size "${input.sizeName}"`);
      const vm = await vms.createVm({
        name: input.name,
        sizeName: input.sizeName,
        size,
        userData: '',
        tags: { 'burst-workers.io/worker': input.name },
      });
      return vmInfo(vm);
    },

    /** Starts the VM and waits until it runs, up to the launch deadline (absolute: kept across retries). */
    async startVm(input: { vmId: string; deadline: string }): Promise<VmInfo> {
      const deadlineMs = Date.parse(input.deadline);
      let vm = await vms.startVm(input.vmId);
      while (vm.state !== 'running') {
        progress({ state: vm.state });
        if (Date.now() >= deadlineMs) {
          throw joinTimeout(
            `VM ${input.vmId} is not running at the launch deadline ${input.deadline} (burst_workers.launch_timeout_seconds=${config.burst_workers.launch_timeout_seconds}); last state ${vm.state}`,
            vm.name,
          );
        }
        await sleep(1000, signalOf());
        const again = await vms.getVm(input.vmId);
        if (again === null)
          throw new VmProviderError(`VM ${input.vmId} vanished while starting`, { retryable: false });
        vm = again;
      }
      return vmInfo(vm);
    },

    /**
     * Waits for the node to register and be Ready, up to the registration deadline
     * (absolute: a retry after a worker crash keeps the original one). The node must
     * carry the VM's providerID: a foreign node with the same name is never adopted.
     */
    async waitForNodeReady(input: {
      name: string;
      providerId: string;
      deadline: string;
    }): Promise<{ uid: string }> {
      const remaining = Date.parse(input.deadline) - Date.now();
      const timeoutText = `the registration timeout (burst_workers.registration_timeout_seconds=${config.burst_workers.registration_timeout_seconds}) passed at ${input.deadline}`;
      if (remaining <= 0) {
        const node = await k8s.getNodeOrNull(kube, input.name);
        if (node === null || !isNodeReady(node)) {
          throw joinTimeout(
            `VM never joined: node "${input.name}" ${node === null ? 'has not registered' : 'is not Ready'}: ${timeoutText}`,
            input.name,
          );
        }
      }
      let node: V1Node;
      try {
        node = await k8s.waitForNodeReady(kube, input.name, Math.max(remaining, 1), {
          signal: signalOf(),
          onProgress: (phase) => progress({ phase }),
        });
      } catch (err) {
        if (err instanceof WorkerError && err.code === ErrorCode.JoinTimeout) {
          throw joinTimeout(`VM never joined: ${err.message}: ${timeoutText}`, input.name);
        }
        throw err;
      }
      const providerId = node.spec?.providerID ?? '';
      if (providerId !== input.providerId) {
        throw new WorkerError(
          ErrorCode.PreconditionFailed,
          `node "${input.name}" has providerID "${providerId}", not the VM's "${input.providerId}"; it is not adopted`,
          { worker: input.name },
        );
      }
      return { uid: node.metadata?.uid ?? '' };
    },

    /** Writes ownership labels and TTL annotations, removes the startup taint (idempotent). */
    async markBurstNode(input: {
      name: string;
      vmId: string;
      ttlSeconds: number;
      expiresAt: string;
      sizeName: string;
      createdAt: string;
    }): Promise<void> {
      await k8s.markBurstNode(kube, config, input.name, {
        vmId: input.vmId,
        provider: config.provider.type,
        ttlHours: Number((input.ttlSeconds / 3600).toFixed(6)),
        expiresAt: input.expiresAt,
        sizeName: input.sizeName,
        createdAt: input.createdAt,
      });
    },

    async setNodeExpiry(input: { name: string; expiresAt: string; ttlSeconds: number }): Promise<void> {
      await k8s.setNodeExpiry(
        kube,
        input.name,
        input.expiresAt,
        Number((input.ttlSeconds / 3600).toFixed(6)),
      );
    },

    /**
     * The destroy policy on the node as it is now: burst by positive ownership and not
     * protected (always), drained unless `force`. Refusals are typed and non-retryable.
     */
    async checkWorker(input: { name: string; force: boolean; mustExist?: boolean }): Promise<NodeCheck> {
      const node = await k8s.getNodeOrNull(kube, input.name);
      if (node === null) {
        if (input.mustExist) {
          throw new WorkerError(ErrorCode.WorkerNotFound, `worker "${input.name}" does not exist`, {
            worker: input.name,
          });
        }
        return { exists: false };
      }
      const verdict = checkDestroy(node, config, { force: input.force });
      if (!verdict.allowed) throw refusal(verdict, input.name);
      return {
        exists: true,
        uid: node.metadata?.uid ?? '',
        vmId: node.metadata?.annotations?.[VM_ID_ANNOTATION],
        providerId: node.spec?.providerID,
        unschedulable: node.spec?.unschedulable === true,
      };
    },

    async cordonNode(input: { name: string }): Promise<void> {
      await k8s.cordonNode(kube, input.name);
    },

    /** Drain options with an absolute deadline fixed now (recorded: retries resume the same drain). */
    async resolveDrainOptions(overrides: DrainOverrides): Promise<DrainOptions> {
      const options = k8s.resolveDrainOptions(config, overrides);
      if (options.deadline === undefined && options.timeoutSeconds > 0) {
        options.deadline = new Date(now().getTime() + options.timeoutSeconds * 1000).toISOString();
      }
      return options;
    },

    /** Evicts under the deadline; a deadline or blocked pods end the drain with a report, not a retry. */
    async drainNode(input: { name: string; options: DrainOptions }): Promise<DrainOutcome> {
      try {
        const result = await k8s.drainNode(kube, config, input.name, {
          ...input.options,
          signal: signalOf(),
          onProgress: (p) => progress(p),
        });
        return { completed: result.completed, result };
      } catch (err) {
        if (
          err instanceof WorkerError &&
          (err.code === ErrorCode.DrainTimeout || err.code === ErrorCode.DrainBlocked) &&
          err.details !== undefined
        ) {
          const result = err.details as unknown as DrainWorkerResult;
          return {
            completed: false,
            result: { ...result, completed: false },
            error: { code: err.code, message: err.message },
          };
        }
        throw err;
      }
    },

    /**
     * Deletes the VM (by id, or found by name when the id is unknown). With `guardNode`,
     * the worker's node, if it still exists, must pass the safety check right now: a node
     * relabelled permanent keeps its VM.
     */
    async deleteVm(input: {
      vmId?: string;
      name?: string;
      guardNode?: boolean;
    }): Promise<{ deleted: boolean }> {
      if (input.guardNode && input.name) {
        const node = await k8s.getNodeOrNull(kube, input.name);
        if (node !== null) {
          const verdict = checkDestructible(node, config);
          if (!verdict.allowed) throw refusal(verdict, input.name);
        }
      }
      let id = input.vmId;
      if (id === undefined && input.name !== undefined) id = (await vms.findVmByName(input.name))?.id;
      if (id === undefined) return { deleted: false };
      const existed = (await vms.getVm(id)) !== null;
      await vms.deleteVm(id);
      return { deleted: existed };
    },

    /** Deletes the node if it is still the checked object and still passes the safety check. */
    async deleteNode(input: { name: string; uid: string }): Promise<{ deleted: boolean }> {
      return k8s.deleteNode(kube, config, input.name, input.uid);
    },

    /**
     * Compensation: removes a node that our VM registered (found by the VM's providerID,
     * or by name when it carries our ownership or our startup taint), never another one.
     */
    async removeLateNode(input: { name: string; providerId?: string }): Promise<{ deleted: boolean }> {
      const candidates: V1Node[] = [];
      if (input.providerId) {
        const byProvider = await k8s.findNodeByProviderId(kube, input.providerId);
        if (byProvider) candidates.push(byProvider);
      }
      const byName = await k8s.getNodeOrNull(kube, input.name);
      if (byName && !candidates.some((c) => c.metadata?.uid === byName.metadata?.uid)) {
        const ours =
          (input.providerId !== undefined && byName.spec?.providerID === input.providerId) ||
          (input.providerId === undefined &&
            (byName.metadata?.labels?.[MANAGED_BY_LABEL] !== undefined ||
              (byName.spec?.taints ?? []).some((t) => t.key === STARTUP_TAINT_KEY)) &&
            byName.spec?.providerID?.startsWith(`${config.provider.type}://`) === true);
        if (ours) candidates.push(byName);
      }
      let deleted = false;
      for (const node of candidates) {
        deleted = (await deleteNodeGuardedByProvider(node, 'removing a node of a failed launch')) || deleted;
      }
      return { deleted };
    },

    /**
     * Refuses (OperationInProgress) when another mutating operation works on this
     * worker: a destroy while draining, a drain while destroying or during the
     * lifetime run's teardown.
     */
    async assertNoConflict(input: { name: string; operation: 'drain' | 'destroy' }): Promise<void> {
      const { name, operation } = input;
      const others = operation === 'drain' ? [workflowId.destroy(name)] : [workflowId.drain(name)];
      for (const id of others) {
        if (await isRunning(id)) {
          throw new WorkerError(
            ErrorCode.OperationInProgress,
            `operation ${id} is running on worker "${name}"`,
            {
              worker: name,
              workflowId: id,
            },
          );
        }
      }
      if (operation === 'drain') {
        const run = await lifetimeRunStatus(name);
        if (run.running && run.phase !== undefined && TEARDOWN_PHASES.has(run.phase)) {
          throw new WorkerError(
            ErrorCode.OperationInProgress,
            `worker "${name}" is being torn down by ${workflowId.burstWorker(name)} (phase ${run.phase})`,
            { worker: name, workflowId: workflowId.burstWorker(name) },
          );
        }
      }
    },

    /**
     * When a live burstWorker run owns the worker, asks it to tear down now (destroyNow)
     * and waits for its end; `delegated: false` when there is no such run.
     */
    async delegateTeardown(input: { name: string; requestedBy: string }): Promise<{
      delegated: boolean;
      result?: BurstWorkerResult;
    }> {
      const handle = temporal.workflow.getHandle<(i: unknown) => Promise<BurstWorkerResult>>(
        workflowId.burstWorker(input.name),
      );
      const run = await lifetimeRunStatus(input.name);
      if (!run.running) return { delegated: false };
      try {
        await handle.executeUpdate(MessageName.destroyNow, { args: [{ requestedBy: input.requestedBy }] });
      } catch (err) {
        if (err instanceof WorkflowUpdateFailedError) throw err;
        if (!(await isRunning(workflowId.burstWorker(input.name)))) {
          // It ended between the check and the request; its own teardown removed the worker.
        } else {
          throw err;
        }
      }
      progress({ delegatedTo: workflowId.burstWorker(input.name) });
      try {
        const result = await handle.result();
        return { delegated: true, result };
      } catch (err) {
        if (err instanceof WorkflowFailedError) {
          const cause = err.cause;
          const type = cause instanceof ApplicationFailure ? cause.type : undefined;
          throw ApplicationFailure.create({
            message: `the lifetime run ${workflowId.burstWorker(input.name)} failed its teardown: ${cause?.message ?? err.message}`,
            type: type ?? 'LifetimeRunFailed',
            nonRetryable: true,
          });
        }
        throw err;
      }
    },

    /** What the reaper should remove, each candidate re-checked against live lifetime runs. */
    async planReap(scope: { namePrefix?: string } = {}): Promise<ReapPlan> {
      const nowMs = now().getTime();
      const inScope = (name: string) => scope.namePrefix === undefined || name.startsWith(scope.namePrefix);
      const [allNodes, allOwned] = await Promise.all([listAllNodes(kube), vms.listOwnedVms()]);
      const nodes = allNodes.filter((n) => inScope(n.metadata?.name ?? ''));
      const owned = allOwned.filter((v) => inScope(v.name));
      progress({ nodes: nodes.length, vms: owned.length });
      const label = config.burst_workers.label;
      const plan: ReapPlan = { expired: [], orphanVms: [], vanished: [] };
      const ownedIds = new Set(allOwned.map((v) => v.id));
      const nodeNames = new Set(allNodes.map((n) => n.metadata?.name ?? ''));
      const providerIds = new Set(allNodes.map((n) => n.spec?.providerID ?? '').filter((p) => p !== ''));

      for (const node of nodes) {
        const name = node.metadata?.name ?? '';
        if (workerTypeOf(node, label) !== 'burst' || !checkDestructible(node, config).allowed) continue;
        const vmId = node.metadata?.annotations?.[VM_ID_ANNOTATION] ?? '';
        const vmGone = !ownedIds.has(vmId) && (await vms.getVm(vmId)) === null;
        if (vmGone && !isNodeReady(node)) {
          if (!(await lifetimeRunStatus(name)).running) {
            plan.vanished.push({ name, uid: node.metadata?.uid ?? '' });
          }
          continue;
        }
        if (ttlOf(node, nowMs).expired && !(await lifetimeRunStatus(name)).running) plan.expired.push(name);
      }
      const graceMs = config.burst_workers.orphan_vm_grace_seconds * 1000;
      for (const vm of owned) {
        if (nodeNames.has(vm.name) || providerIds.has(vm.providerId)) continue;
        if (nowMs - Date.parse(vm.createdAt) < graceMs) continue;
        if ((await lifetimeRunStatus(vm.name)).running) continue;
        plan.orphanVms.push({ id: vm.id, name: vm.name });
      }
      return plan;
    },
  };
  return wrap(activities, deps.delaysMs ?? {});
}

export type Activities = ReturnType<typeof createActivities>;
