/**
 * The Kubernetes layer: clients, inventory, cordon, drain and guarded delete.
 * Plain async functions over injected clients, ready to be wrapped as Temporal activities.
 */
export { checkCluster, type KubeClients, loadKubeClients, PooledKubeConfig } from './client.js';
export {
  type DrainNodeOptions,
  type DrainOptions,
  type DrainPlan,
  type DrainPlanEntry,
  type DrainProgress,
  drainNode,
  planDrain,
  resolveDrainOptions,
} from './drain.js';
export {
  getWorker,
  INVENTORY_PAGE_SIZE,
  listPodsOnNode,
  listWorkers,
  type ResourceList,
  summarizeWorker,
  type WorkerDetails,
  type WorkerFilter,
  type WorkerPod,
  type WorkerSummary,
} from './inventory.js';
export {
  type BurstNodeMeta,
  cordonNode,
  deleteNode,
  findNodeByProviderId,
  getNodeOrNull,
  markBurstNode,
  setNodeExpiry,
  uncordonNode,
  waitForNodeReady,
} from './nodes.js';
