/**
 * Error codes shared by every layer. They are used as the `type` of Temporal
 * `ApplicationFailure`s and as the `code` of MCP tool errors, so tests assert on
 * the code, never on message text.
 */
export const ErrorCode = {
  /** Input failed validation; the message names the field and the rule. */
  ValidationFailed: 'ValidationFailed',
  /** Configuration file or environment override is invalid. */
  ConfigInvalid: 'ConfigInvalid',
  /** The worker (node) does not exist. */
  WorkerNotFound: 'WorkerNotFound',
  /** Safety: the worker is permanent (no positive burst ownership). */
  PermanentWorker: 'PermanentWorker',
  /** Safety: the worker's name matches a protected pattern or it carries the protected annotation. */
  ProtectedWorker: 'ProtectedWorker',
  /** Safety: destroy requires a drained node unless forced. */
  NotDrained: 'NotDrained',
  /** Safety: the node changed (uid or labels) between the check and the delete. */
  PreconditionFailed: 'PreconditionFailed',
  /** Another mutating operation already runs on this worker. */
  OperationInProgress: 'OperationInProgress',
  /** Limits: too many burst workers or provisions. */
  LimitExceeded: 'LimitExceeded',
  /** Drain: pods that cannot be evicted under the current options. */
  DrainBlocked: 'DrainBlocked',
  /** Drain: the deadline passed with pods still on the node. */
  DrainTimeout: 'DrainTimeout',
  /** The Kubernetes API cannot be reached or the kubeconfig is unusable. */
  ClusterUnavailable: 'ClusterUnavailable',
  /** VM provider: transient failure (timeouts, 5xx, locks); retry. */
  ProviderTransient: 'ProviderTransient',
  /** VM provider: permanent failure (credentials, missing template, quota). */
  ProviderFatal: 'ProviderFatal',
  /** The VM did not become a Ready node in time. */
  JoinTimeout: 'JoinTimeout',
  /** The server is in read-only or no-destructive mode. */
  ModeForbidden: 'ModeForbidden',
  /** A destructive call needs confirmation. */
  ConfirmationRequired: 'ConfirmationRequired',
  /** Unknown operation id. */
  OperationNotFound: 'OperationNotFound',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** Errors of this codebase carry a code and optional structured details. */
export class WorkerError extends Error {
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'WorkerError';
    this.code = code;
    this.details = details;
  }
}

/** Errors that retrying cannot fix. Temporal wrappers map these to non-retryable failures. */
export const NON_RETRYABLE_CODES: readonly ErrorCode[] = [
  ErrorCode.ValidationFailed,
  ErrorCode.ConfigInvalid,
  ErrorCode.WorkerNotFound,
  ErrorCode.PermanentWorker,
  ErrorCode.ProtectedWorker,
  ErrorCode.NotDrained,
  ErrorCode.PreconditionFailed,
  ErrorCode.LimitExceeded,
  ErrorCode.DrainBlocked,
  ErrorCode.ProviderFatal,
  ErrorCode.ModeForbidden,
  ErrorCode.ConfirmationRequired,
];

/**
 * Codes that end an activity at once: what retrying cannot fix, plus outcomes that a
 * deadline or another running operation decided (retrying would only repeat them).
 */
export const ACTIVITY_FINAL_CODES: readonly ErrorCode[] = [
  ...NON_RETRYABLE_CODES,
  ErrorCode.DrainTimeout,
  ErrorCode.JoinTimeout,
  ErrorCode.OperationInProgress,
];

export function isWorkerError(err: unknown): err is WorkerError {
  return err instanceof WorkerError;
}
