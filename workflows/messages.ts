/**
 * Queries, updates and signals of the workflows. Names come from core/operations so
 * that clients (the MCP server, tests) can use either these handles or the names.
 */
import { defineQuery, defineSignal, defineUpdate } from '@temporalio/workflow';
import { MessageName, type OperationStatus, type ProvisionStatus } from '../core/operations.js';

export const statusQuery = defineQuery<OperationStatus>(MessageName.status);
export const provisionStatusQuery = defineQuery<ProvisionStatus>(MessageName.status);

/** Adds time to a burst worker's expiry; exactly one of hours / seconds. */
export interface ExtendTtlRequest {
  hours?: number;
  seconds?: number;
}
export interface ExtendTtlResult {
  worker: string;
  /** The new expiry, RFC 3339 UTC. */
  expiresAt: string;
}
export const extendTtlUpdate = defineUpdate<ExtendTtlResult, [ExtendTtlRequest]>(MessageName.extendTtl);

export interface DestroyNowRequest {
  /** Who asked (destroyWorker's workflow id, a caller identity). */
  requestedBy?: string;
}
export interface DestroyNowResult {
  worker: string;
  /** The phase the run was in when it accepted the request. */
  acceptedInPhase: string;
}
export const destroyNowUpdate = defineUpdate<DestroyNowResult, [DestroyNowRequest?]>(MessageName.destroyNow);

/** Internal: a burstWorker child tells its provisionWorkers parent that its node is Ready. */
export interface WorkerReadySignal {
  name: string;
}
export const workerReadySignal = defineSignal<[WorkerReadySignal]>('workerReady');
