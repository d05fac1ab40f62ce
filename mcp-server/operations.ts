/**
 * The Temporal side of the MCP server: every mutation is a workflow start, update,
 * query or cancel. The operation id of a workflow-backed operation is its workflow id.
 */
import {
  Client,
  Connection,
  WorkflowExecutionAlreadyStartedError,
  type WorkflowExecutionDescription,
  type WorkflowExecutionInfo,
  WorkflowNotFoundError,
} from '@temporalio/client';
import {
  ApplicationFailure,
  defineSearchAttributeKey,
  SearchAttributeType,
  TemporalFailure,
  TypedSearchAttributes,
} from '@temporalio/common';
import type { Config } from '../core/config.js';
import { ErrorCode, WorkerError } from '../core/errors.js';
import {
  type DestroyWorkerInput,
  type DrainWorkerInput,
  MessageName,
  type OperationStatus,
  type OperationType,
  openBurstWorkerRunsQuery,
  type ProvisionStatus,
  type ProvisionWorkersInput,
  SearchAttribute,
  visibilityLiteral,
  WorkflowType,
  workflowId,
} from '../core/operations.js';

export const WORKER_KEY = defineSearchAttributeKey(SearchAttribute.worker, SearchAttributeType.KEYWORD);
export const OPERATION_KEY = defineSearchAttributeKey(SearchAttribute.operation, SearchAttributeType.KEYWORD);
export const PHASE_KEY = defineSearchAttributeKey(SearchAttribute.phase, SearchAttributeType.KEYWORD);

export type ExecutionStatus =
  | 'running'
  | 'completed'
  | 'failed'
  | 'cancelled'
  | 'terminated'
  | 'timed_out'
  | 'continued_as_new'
  | 'unknown';

export interface OperationView {
  operation_id: string;
  run_id: string;
  workflow_type: string;
  type: OperationType | 'unknown';
  worker: string | null;
  execution_status: ExecutionStatus;
  phase: string | null;
  started_at: string;
  closed_at: string | null;
  ui_url: string;
  /** From the `status` query, when the run answered it. */
  progress?: OperationStatus;
  result?: unknown;
  error?: { code: string; message: string };
}

export interface StartedOperation {
  operationId: string;
  runId: string;
  uiUrl: string;
}

export interface ListFilter {
  worker?: string;
  type?: OperationType;
  status?: ExecutionStatus;
  limit: number;
}

export interface Operations {
  uiUrl(operationId: string): string;
  /** Starts provisionWorkers, or joins the run with the same idempotency key. */
  startProvision(input: ProvisionWorkersInput): Promise<StartedOperation & { existing: boolean }>;
  /** The provision operation of this idempotency key, if one was ever started. */
  findProvision(idempotencyKey: string): Promise<StartedOperation | null>;
  provisionStatus(operationId: string): Promise<ProvisionStatus | null>;
  /** @throws WorkerError(OperationInProgress) with the running operation's id. */
  startDrain(input: DrainWorkerInput): Promise<StartedOperation>;
  startDestroy(input: DestroyWorkerInput): Promise<StartedOperation>;
  /** @throws WorkerError(OperationNotFound) */
  get(operationId: string): Promise<OperationView>;
  list(filter: ListFilter): Promise<OperationView[]>;
  /** Requests cancellation; returns the status before the request. */
  cancel(operationId: string): Promise<OperationView>;
  /** Update extendTtl on the worker's burstWorker run; returns its answer (new expiry). */
  extendTtl(worker: string, hours: number): Promise<unknown>;
  /** Start times (ms) of burstWorker runs on this task queue started since `sinceMs`. */
  burstWorkerStartsSince(sinceMs: number): Promise<number[]>;
  /** Names of workers whose burstWorker run on this task queue is still open. */
  liveBurstWorkers(): Promise<string[]>;
  close(): Promise<void>;
}

const STATUS_NAMES: Record<string, ExecutionStatus> = {
  RUNNING: 'running',
  COMPLETED: 'completed',
  FAILED: 'failed',
  CANCELLED: 'cancelled',
  TERMINATED: 'terminated',
  TIMED_OUT: 'timed_out',
  CONTINUED_AS_NEW: 'continued_as_new',
};

const VISIBILITY_STATUS: Record<ExecutionStatus, string> = {
  running: 'Running',
  completed: 'Completed',
  failed: 'Failed',
  cancelled: 'Canceled',
  terminated: 'Terminated',
  timed_out: 'TimedOut',
  continued_as_new: 'ContinuedAsNew',
  unknown: 'Running',
};

const TYPE_OF_WORKFLOW: Record<string, OperationType> = {
  [WorkflowType.burstWorker]: 'burst_worker',
  [WorkflowType.provisionWorkers]: 'provision',
  [WorkflowType.drainWorker]: 'drain',
  [WorkflowType.destroyWorker]: 'destroy',
  [WorkflowType.reaper]: 'reaper',
};

const WORKFLOW_OF_TYPE: Record<OperationType, string> = {
  burst_worker: WorkflowType.burstWorker,
  provision: WorkflowType.provisionWorkers,
  drain: WorkflowType.drainWorker,
  destroy: WorkflowType.destroyWorker,
  reaper: WorkflowType.reaper,
};

/** Quotes a value for a visibility query; values are validated before they get here. */
function failureOf(err: unknown): { code: string; message: string } {
  let cur: unknown = err;
  while (cur instanceof TemporalFailure) {
    if (cur instanceof ApplicationFailure && cur.type) return { code: cur.type, message: cur.message };
    if (!cur.cause) break;
    cur = cur.cause;
  }
  return { code: 'OperationFailed', message: err instanceof Error ? err.message : String(err) };
}

function workerFromId(id: string): string | null {
  const m = /^(?:burst-worker|drain|destroy):(.+)$/.exec(id);
  return m ? m[1]! : null;
}

export function createTemporalOperations(config: Config): Operations {
  const connection = Connection.lazy({ address: config.temporal.address });
  const client = new Client({ connection, namespace: config.temporal.namespace });
  const taskQueue = config.temporal.task_queue;
  const ns = config.temporal.namespace;
  const uiUrl = (id: string) =>
    `${config.temporal.ui_url.replace(/\/+$/, '')}/namespaces/${encodeURIComponent(ns)}/workflows/${encodeURIComponent(id)}`;

  function attrs(op: OperationType, worker?: string): TypedSearchAttributes {
    return new TypedSearchAttributes([
      { key: OPERATION_KEY, value: op },
      ...(worker ? [{ key: WORKER_KEY, value: worker }] : []),
    ]);
  }

  type InfoLike = Pick<
    WorkflowExecutionInfo,
    'workflowId' | 'runId' | 'type' | 'status' | 'startTime' | 'closeTime' | 'typedSearchAttributes'
  >;

  function view(info: InfoLike): OperationView {
    const sa = info.typedSearchAttributes;
    return {
      operation_id: info.workflowId,
      run_id: info.runId,
      workflow_type: info.type,
      type: TYPE_OF_WORKFLOW[info.type] ?? 'unknown',
      worker: sa.get(WORKER_KEY) ?? workerFromId(info.workflowId),
      execution_status: STATUS_NAMES[info.status.name] ?? 'unknown',
      phase: sa.get(PHASE_KEY) ?? null,
      started_at: info.startTime.toISOString(),
      closed_at: info.closeTime ? info.closeTime.toISOString() : null,
      ui_url: uiUrl(info.workflowId),
    };
  }

  async function queryStatus<T extends OperationStatus>(id: string): Promise<T | null> {
    try {
      return (await client.workflow.getHandle(id).query<T>(MessageName.status)) ?? null;
    } catch {
      return null; // no worker to answer, or the workflow does not define the query
    }
  }

  async function startPerWorker(type: string, id: string, op: OperationType, worker: string, input: unknown) {
    try {
      const handle = await client.workflow.start(type, {
        taskQueue,
        workflowId: id,
        args: [input],
        workflowIdConflictPolicy: 'FAIL',
        typedSearchAttributes: attrs(op, worker),
      });
      return { operationId: id, runId: handle.firstExecutionRunId, uiUrl: uiUrl(id) };
    } catch (err) {
      if (err instanceof WorkflowExecutionAlreadyStartedError) {
        throw new WorkerError(
          ErrorCode.OperationInProgress,
          `a ${op} operation is already running on worker "${worker}": ${id}`,
          { operation_id: id, ui_url: uiUrl(id) },
        );
      }
      throw err;
    }
  }

  async function listInfos(query: string, limit: number): Promise<WorkflowExecutionInfo[]> {
    const out: WorkflowExecutionInfo[] = [];
    for await (const info of client.workflow.list({ query, pageSize: Math.min(limit, 1000) })) {
      out.push(info);
      if (out.length >= limit) break;
    }
    return out;
  }

  return {
    uiUrl,
    async startProvision(input) {
      const id = workflowId.provision(input.idempotencyKey);
      const existing = await client.workflow
        .getHandle(id)
        .describe()
        .catch(() => null);
      if (existing) return { operationId: id, runId: existing.runId, uiUrl: uiUrl(id), existing: true };
      try {
        const handle = await client.workflow.start(WorkflowType.provisionWorkers, {
          taskQueue,
          workflowId: id,
          args: [input],
          workflowIdConflictPolicy: 'USE_EXISTING',
          workflowIdReusePolicy: 'REJECT_DUPLICATE',
          typedSearchAttributes: attrs('provision'),
        });
        return { operationId: id, runId: handle.firstExecutionRunId, uiUrl: uiUrl(id), existing: false };
      } catch (err) {
        if (err instanceof WorkflowExecutionAlreadyStartedError) {
          const d = await client.workflow.getHandle(id).describe();
          return { operationId: id, runId: d.runId, uiUrl: uiUrl(id), existing: true };
        }
        throw err;
      }
    },
    async findProvision(idempotencyKey) {
      const id = workflowId.provision(idempotencyKey);
      const found = await client.workflow
        .getHandle(id)
        .describe()
        .catch(() => null);
      return found ? { operationId: id, runId: found.runId, uiUrl: uiUrl(id) } : null;
    },
    async provisionStatus(operationId) {
      return queryStatus<ProvisionStatus>(operationId);
    },
    startDrain(input) {
      return startPerWorker(
        WorkflowType.drainWorker,
        workflowId.drain(input.worker),
        'drain',
        input.worker,
        input,
      );
    },
    startDestroy(input) {
      return startPerWorker(
        WorkflowType.destroyWorker,
        workflowId.destroy(input.worker),
        'destroy',
        input.worker,
        input,
      );
    },
    async get(operationId) {
      const handle = client.workflow.getHandle(operationId);
      let info: WorkflowExecutionDescription;
      try {
        info = await handle.describe();
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) {
          throw new WorkerError(ErrorCode.OperationNotFound, `operation "${operationId}" does not exist`, {
            operation_id: operationId,
          });
        }
        throw err;
      }
      const v = view(info);
      const progress = await queryStatus(operationId);
      if (progress) {
        v.progress = progress;
        v.phase = progress.phase;
      }
      if (v.execution_status === 'completed') {
        v.result = await handle.result().catch(() => undefined);
      } else if (v.execution_status !== 'running' && v.execution_status !== 'unknown') {
        await handle.result().catch((err: unknown) => {
          v.error = failureOf(err);
        });
      }
      return v;
    },
    async list(filter) {
      const clauses: string[] = [];
      if (filter.worker) clauses.push(`${SearchAttribute.worker} = ${visibilityLiteral(filter.worker)}`);
      if (filter.type) clauses.push(`WorkflowType = ${visibilityLiteral(WORKFLOW_OF_TYPE[filter.type])}`);
      if (filter.status)
        clauses.push(`ExecutionStatus = ${visibilityLiteral(VISIBILITY_STATUS[filter.status])}`);
      const infos = await listInfos(clauses.join(' AND '), filter.limit);
      return infos.map(view);
    },
    async cancel(operationId) {
      const before = await this.get(operationId);
      if (before.execution_status === 'running') await client.workflow.getHandle(operationId).cancel();
      return before;
    },
    async extendTtl(worker, hours) {
      const id = workflowId.burstWorker(worker);
      try {
        return await client.workflow
          .getHandle(id)
          .executeUpdate(MessageName.extendTtl, { args: [{ hours }] });
      } catch (err) {
        if (err instanceof WorkflowNotFoundError) {
          throw new WorkerError(
            ErrorCode.OperationNotFound,
            `worker "${worker}" has no running lifecycle (${id}); only burst workers created by this system have a TTL to extend`,
            { operation_id: id },
          );
        }
        throw new WorkerError(
          ErrorCode.ValidationFailed,
          `extend_worker_ttl refused: ${failureOf(err).message}`,
        );
      }
    },
    async burstWorkerStartsSince(sinceMs) {
      const infos = await listInfos(
        `WorkflowType = ${visibilityLiteral(WorkflowType.burstWorker)} AND TaskQueue = ${visibilityLiteral(taskQueue)} AND StartTime > ${visibilityLiteral(new Date(sinceMs).toISOString())}`,
        10_000,
      );
      return infos.map((i) => i.startTime.getTime());
    },
    async liveBurstWorkers() {
      const infos = await listInfos(openBurstWorkerRunsQuery(taskQueue), 10_000);
      return infos.map((i) => workerFromId(i.workflowId)).filter((n): n is string => n !== null);
    },
    async close() {
      await connection.close().catch(() => undefined);
    },
  };
}
