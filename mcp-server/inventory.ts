/**
 * The read side of the cluster as the MCP server sees it: activities/kubernetes
 * (straight from the API server, never a cache), behind a small interface so tests
 * can hand the server a fixed inventory.
 */

import {
  type DrainOptions,
  getWorker,
  type KubeClients,
  listWorkers,
  loadKubeClients,
  planDrain,
  resolveDrainOptions,
  type WorkerDetails,
  type WorkerSummary,
} from '../activities/kubernetes/index.js';
import type { Config } from '../core/config.js';
import type { DrainPlan } from '../core/drain.js';
import type { NodeLike } from '../core/worker.js';

export type WorkerTypeFilter = 'all' | 'burst' | 'permanent';
export type { DrainOptions, DrainPlan, WorkerDetails, WorkerSummary };

export interface Inventory {
  listWorkers(type: WorkerTypeFilter): Promise<WorkerSummary[]>;
  /** @throws WorkerError(WorkerNotFound) */
  getWorker(name: string): Promise<WorkerDetails>;
  /** Read-only: what a drain with these options would do to each pod. */
  planDrain(name: string, overrides: Partial<DrainOptions>): Promise<DrainPlan>;
}

/** The fields of a worker the safety policy reads, in the shape core/safety.ts takes. */
export function nodeLikeOf(
  w: Pick<WorkerSummary, 'name' | 'labels' | 'annotations' | 'unschedulable'>,
): NodeLike {
  return {
    metadata: { name: w.name, labels: w.labels, annotations: w.annotations },
    spec: { unschedulable: w.unschedulable },
  };
}

export function createKubeInventory(config: Config): Inventory {
  let clients: KubeClients | undefined;
  // Loaded on first use so that the server starts (and lists its tools) before the cluster is reachable.
  const k = () => {
    clients ??= loadKubeClients(config);
    return clients;
  };
  return {
    listWorkers: (type) => listWorkers(k(), config, { type }),
    getWorker: (name) => getWorker(k(), config, name),
    planDrain: (name, overrides) => planDrain(k(), config, name, resolveDrainOptions(config, overrides)),
  };
}
