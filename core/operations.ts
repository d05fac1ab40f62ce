/**
 * The contract between the MCP server, the worker and the workflows: workflow type
 * names, workflow ids, message names, search attributes and the shape of the
 * `status` query. Pure; imported by workflows.
 */

export const WorkflowType = {
  burstWorker: 'burstWorker',
  provisionWorkers: 'provisionWorkers',
  drainWorker: 'drainWorker',
  destroyWorker: 'destroyWorker',
  reaper: 'reaper',
} as const;
export type WorkflowType = (typeof WorkflowType)[keyof typeof WorkflowType];

export type OperationType = 'provision' | 'burst_worker' | 'drain' | 'destroy' | 'reaper';

/** Workflow ids. One id per worker and operation kind: the base of "one mutation at a time". */
export const workflowId = {
  burstWorker: (worker: string) => `burst-worker:${worker}`,
  drain: (worker: string) => `drain:${worker}`,
  destroy: (worker: string) => `destroy:${worker}`,
  provision: (idempotencyKey: string) => `provision:${idempotencyKey}`,
} as const;

/** A string literal of Temporal's visibility query language. */
export function visibilityLiteral(value: string): string {
  return `'${value.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/**
 * Visibility query of the burstWorker runs still open on a task queue: the workers of
 * one deployment that exist or are being created (counted by the burst-worker limits).
 */
export function openBurstWorkerRunsQuery(taskQueue: string): string {
  return `WorkflowType = ${visibilityLiteral(WorkflowType.burstWorker)} AND TaskQueue = ${visibilityLiteral(taskQueue)} AND ExecutionStatus = 'Running'`;
}

export const REAPER_SCHEDULE_ID = 'burst-workers-reaper';

/** Names of queries and updates, shared by workflows and clients. */
export const MessageName = {
  /** Query on every workflow: returns OperationStatus. */
  status: 'status',
  /** Update on burstWorker: `{ hours }` or `{ seconds }` added to the expiry; returns the new expiry. */
  extendTtl: 'extendTtl',
  /** Update on burstWorker: tear down now (drain with deadline, delete VM, delete node). */
  destroyNow: 'destroyNow',
} as const;

/** Custom search attributes (Keyword), registered on the dev server by `npm start` and the tests. */
export const SearchAttribute = {
  worker: 'BurstWorkerName',
  operation: 'BurstOperation',
  phase: 'BurstPhase',
} as const;
export const SEARCH_ATTRIBUTE_NAMES: readonly string[] = Object.values(SearchAttribute);

export type StepStatus = 'running' | 'succeeded' | 'failed' | 'skipped';

export interface OperationStep {
  name: string;
  status: StepStatus;
  startedAt: string;
  finishedAt?: string;
  detail?: string;
}

export interface OperationError {
  code: string;
  message: string;
}

/** What the `status` query of every workflow returns. */
export interface OperationStatus {
  operationId: string;
  type: OperationType;
  /** Worker (node) name for per-worker operations. */
  worker?: string;
  /** Free-form phase name of the workflow's state machine (e.g. `creating_vm`, `ready`, `draining`). */
  phase: string;
  steps: OperationStep[];
  vmId?: string;
  expiresAt?: string;
  lastError?: OperationError;
  startedAt: string;
  updatedAt: string;
  /** Present once finished. */
  result?: unknown;
}

/** Per-worker entry of a provision operation (in its status and its result). */
export interface ProvisionedWorker {
  name: string;
  workflowId: string;
  /** `pending` while the child runs; `ready` once its node is Ready; `failed` with the error. */
  outcome: 'pending' | 'ready' | 'failed';
  error?: OperationError;
}

/** Extra fields of the provisionWorkers status query; `workers` is set as soon as names are reserved. */
export interface ProvisionStatus extends OperationStatus {
  workers?: ProvisionedWorker[];
}

// Workflow inputs and results. Durations are seconds at this layer (tests pass a few
// seconds); the MCP boundary speaks hours and converts.

export interface BurstWorkerInput {
  name: string;
  sizeName: string;
  ttlSeconds: number;
  /** Who asked (token id / caller identity), for the audit trail. */
  requestedBy?: string;
}

export interface BurstWorkerResult {
  worker: string;
  vmId?: string;
  /** How the lifetime ended. */
  outcome: 'expired' | 'destroyed' | 'failed_before_ready';
}

export interface ProvisionWorkersInput {
  count: number;
  ttlSeconds: number;
  size: string;
  idempotencyKey: string;
  requestedBy?: string;
}

export interface ProvisionWorkersResult {
  operationId: string;
  workers: ProvisionedWorker[];
}

export interface DrainWorkerInput {
  worker: string;
  timeoutSeconds?: number;
  gracePeriodSeconds?: number;
  ignoreDaemonsets?: boolean;
  deleteEmptydirData?: boolean;
  force?: boolean;
  forceAfterDeadline?: boolean;
  requestedBy?: string;
}

export interface PodRef {
  namespace: string;
  name: string;
  reason?: string;
  /** The PodDisruptionBudget that blocks the pod, when one does. */
  pdb?: string;
}

export interface DrainWorkerResult {
  worker: string;
  completed: boolean;
  evicted: PodRef[];
  skipped: PodRef[];
  /** Pods still on the node (deadline) or refused by the drain options. */
  blocked: PodRef[];
  /** Pods deleted at the deadline because forceAfterDeadline was set. */
  forceDeleted: PodRef[];
}

export interface DestroyWorkerInput {
  worker: string;
  force: boolean;
  requestedBy?: string;
}

export interface DestroyWorkerResult {
  worker: string;
  /** `burst_worker_run`: the lifetime run tore itself down; `direct`: destroyWorker did it. */
  via: 'burst_worker_run' | 'direct';
  vmDeleted: boolean;
  nodeDeleted: boolean;
}

export interface ReaperResult {
  expiredDestroyed: string[];
  orphanVmsDeleted: string[];
  vanishedNodesDeleted: string[];
  errors: OperationError[];
}
