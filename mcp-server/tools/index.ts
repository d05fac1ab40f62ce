/** Wires every tool; the order here is the order clients list them in. */
import type { ServerDeps } from '../deps.js';
import type { ToolHost } from '../tool-host.js';
import { registerCancelOperationTool } from './cancel-operation.js';
import { registerDestroyWorkerTool } from './destroy-worker.js';
import { registerDrainWorkerTool } from './drain-worker.js';
import { registerExtendWorkerTtlTool } from './extend-worker-ttl.js';
import { registerGetOperationTool } from './get-operation.js';
import { registerGetWorkerDetailsTool } from './get-worker-details.js';
import { registerListOperationsTool } from './list-operations.js';
import { registerListWorkersTool } from './list-workers.js';
import { registerProvisionWorkersTool } from './provision-workers.js';

export const TOOL_NAMES = [
  'list_workers',
  'get_worker_details',
  'provision_workers',
  'drain_worker',
  'destroy_worker',
  'get_operation',
  'list_operations',
  'cancel_operation',
  'extend_worker_ttl',
] as const;

export function registerAllTools(host: ToolHost, deps: ServerDeps): void {
  registerListWorkersTool(host, deps);
  registerGetWorkerDetailsTool(host, deps);
  registerProvisionWorkersTool(host, deps);
  registerDrainWorkerTool(host, deps);
  registerDestroyWorkerTool(host, deps);
  registerGetOperationTool(host, deps);
  registerListOperationsTool(host, deps);
  registerCancelOperationTool(host, deps);
  registerExtendWorkerTtlTool(host, deps);
}
