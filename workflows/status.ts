/**
 * The progress record every workflow keeps: phase, steps with times, last error.
 * Served by the `status` query and mirrored into the typed search attributes.
 */

import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';
import {
  ActivityFailure,
  ApplicationFailure,
  ChildWorkflowFailure,
  TemporalFailure,
  upsertSearchAttributes,
} from '@temporalio/workflow';
import {
  type OperationError,
  type OperationStatus,
  type OperationStep,
  type OperationType,
  SearchAttribute,
} from '../core/operations.js';

export const WorkerNameKey = defineSearchAttributeKey(SearchAttribute.worker, SearchAttributeType.KEYWORD);
export const OperationKey = defineSearchAttributeKey(SearchAttribute.operation, SearchAttributeType.KEYWORD);
export const PhaseKey = defineSearchAttributeKey(SearchAttribute.phase, SearchAttributeType.KEYWORD);

function nowIso(): string {
  // Date.now() is deterministic inside workflows (the time of the current task).
  return new Date(Date.now()).toISOString();
}

/** The innermost meaningful failure: the ApplicationFailure behind activity/child wrappers. */
export function rootFailure(err: unknown): unknown {
  let e: unknown = err;
  while (
    (e instanceof ActivityFailure || e instanceof ChildWorkflowFailure) &&
    (e as TemporalFailure).cause !== undefined
  ) {
    e = (e as TemporalFailure).cause;
  }
  return e;
}

export function toOperationError(err: unknown): OperationError {
  const root = rootFailure(err);
  if (root instanceof ApplicationFailure) {
    return { code: root.type ?? 'Error', message: root.message };
  }
  if (root instanceof TemporalFailure) {
    return { code: root.name, message: root.message };
  }
  if (root instanceof Error) return { code: root.name, message: root.message };
  return { code: 'Error', message: String(root) };
}

export class OperationTracker<S extends OperationStatus = OperationStatus> {
  readonly status: S;

  constructor(
    init: { operationId: string; type: OperationType; worker?: string; phase: string } & Partial<S>,
  ) {
    const at = nowIso();
    this.status = { steps: [], startedAt: at, updatedAt: at, ...init } as unknown as S;
    this.publish();
  }

  /** A copy for the query (handlers must not hand out mutable state). */
  snapshot(): S {
    return JSON.parse(JSON.stringify(this.status)) as S;
  }

  setPhase(phase: string): void {
    if (this.status.phase === phase) return;
    this.status.phase = phase;
    this.touch();
    this.publish();
  }

  /** Runs one step: records it as running, then succeeded or failed (and rethrows). */
  async step<T>(
    name: string,
    run: () => Promise<T>,
    opts: { phase?: string; detail?: (r: T) => string } = {},
  ) {
    if (opts.phase) this.setPhase(opts.phase);
    const step: OperationStep = { name, status: 'running', startedAt: nowIso() };
    this.status.steps.push(step);
    this.touch();
    try {
      const result = await run();
      step.status = 'succeeded';
      step.finishedAt = nowIso();
      if (opts.detail) step.detail = opts.detail(result);
      this.touch();
      return result;
    } catch (err) {
      step.status = 'failed';
      step.finishedAt = nowIso();
      const error = toOperationError(err);
      step.detail = `${error.code}: ${error.message}`;
      this.status.lastError = error;
      this.touch();
      throw err;
    }
  }

  /** Records a step that did not run (with why). */
  skip(name: string, detail: string): void {
    const at = nowIso();
    this.status.steps.push({ name, status: 'skipped', startedAt: at, finishedAt: at, detail });
    this.touch();
  }

  recordError(err: unknown): OperationError {
    const error = toOperationError(err);
    this.status.lastError = error;
    this.touch();
    return error;
  }

  finish(result: unknown, phase = 'completed'): void {
    this.status.result = result;
    this.setPhase(phase);
    this.touch();
  }

  private touch(): void {
    this.status.updatedAt = nowIso();
  }

  private publish(): void {
    const pairs = [
      { key: OperationKey, value: this.status.type },
      { key: PhaseKey, value: this.status.phase },
    ];
    if (this.status.worker) pairs.push({ key: WorkerNameKey, value: this.status.worker });
    upsertSearchAttributes(pairs);
  }
}

/**
 * What a workflow fails with: the typed ApplicationFailure behind activity/child
 * wrappers, re-raised non-retryable, so clients read the ErrorCode on `cause.type`.
 */
export function typedFailure(err: unknown): unknown {
  const root = rootFailure(err);
  if (root === err || !(root instanceof ApplicationFailure)) return err;
  return ApplicationFailure.create({
    message: root.message,
    type: root.type ?? undefined,
    nonRetryable: true,
    details: root.details ?? undefined,
  });
}
