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
