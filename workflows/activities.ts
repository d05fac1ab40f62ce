/**
 * Activity proxies with their named timeouts and retry policies (core/retry.ts).
 * Workflows import the activity *types* only.
 */
import { type ActivityOptions, proxyActivities } from '@temporalio/workflow';
import type { Activities } from '../activities/index.js';
import {
  ActivityTimeout,
  KUBE_ACTIVITY_RETRY,
  VM_ACTIVITY_RETRY,
  WAIT_ACTIVITY_RETRY,
} from '../core/retry.js';

const heartbeatTimeout = ActivityTimeout.heartbeat;

const kubeOptions: ActivityOptions = {
  startToCloseTimeout: ActivityTimeout.kubeCall,
  heartbeatTimeout,
  retry: KUBE_ACTIVITY_RETRY,
};

/** Kubernetes reads and writes (one API call or a short sequence). */
export const kube = proxyActivities<Activities>(kubeOptions);

/** VM provider calls. */
export const vms = proxyActivities<Activities>({
  startToCloseTimeout: ActivityTimeout.vmCall,
  heartbeatTimeout,
  retry: VM_ACTIVITY_RETRY,
});

/** Waits bounded by their own absolute deadline (launch, registration): retried until the deadline. */
export const waits = proxyActivities<Activities>({
  startToCloseTimeout: ActivityTimeout.awaitWorkflow,
  heartbeatTimeout,
  retry: WAIT_ACTIVITY_RETRY,
});

/** Drains (bounded by the drain deadline, resumable across retries). */
export const drains = proxyActivities<Activities>({
  startToCloseTimeout: ActivityTimeout.drain,
  heartbeatTimeout,
  retry: KUBE_ACTIVITY_RETRY,
});

/** Inventory reads over the whole cluster and provider (reaper, limits). */
export const inventory = proxyActivities<Activities>({
  startToCloseTimeout: ActivityTimeout.inventory,
  heartbeatTimeout,
  retry: KUBE_ACTIVITY_RETRY,
});

/** Talking to other workflows (destroy delegating to the lifetime run). */
export const runs = proxyActivities<Activities>({
  startToCloseTimeout: ActivityTimeout.awaitWorkflow,
  heartbeatTimeout,
  retry: KUBE_ACTIVITY_RETRY,
});
