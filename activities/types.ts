/**
 * Data shapes exchanged between workflows and activities (plain JSON; pure types).
 */
import type { Config } from '../core/config.js';
import type { DrainWorkerResult, OperationError } from '../core/operations.js';

/** What a workflow needs from the worker's configuration (workflows never read files). */
export interface WorkflowPolicy {
  providerType: string;
  burstWorkers: Config['burst_workers'];
  workerSizes: string[];
  safety: Pick<Config['safety'], 'protected_worker_patterns' | 'require_drain_before_destroy'>;
  drain: Config['drain'];
}

export interface VmInfo {
  id: string;
  name: string;
  state: string;
  providerId: string;
  createdAt: string;
}

export interface NodeCheck {
  exists: boolean;
  uid?: string;
  vmId?: string;
  providerId?: string;
  unschedulable?: boolean;
}

export interface DrainOverrides {
  timeoutSeconds?: number;
  gracePeriodSeconds?: number;
  ignoreDaemonsets?: boolean;
  deleteEmptydirData?: boolean;
  force?: boolean;
  forceAfterDeadline?: boolean;
}

export interface DrainOutcome {
  completed: boolean;
  result: DrainWorkerResult;
  /** Set when the drain stopped short (deadline, blocked pods). */
  error?: OperationError;
}

export interface ReapPlan {
  /** Expired burst nodes with no live lifetime run. */
  expired: string[];
  /** Owned VMs with no node, older than the grace period, with no live lifetime run. */
  orphanVms: Array<{ id: string; name: string }>;
  /** Burst nodes whose VM is gone and that are NotReady, with no live lifetime run. */
  vanished: Array<{ name: string; uid: string }>;
}
