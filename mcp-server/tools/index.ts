/** Wires every tool; the order here is the order clients list them in. */
import type { ServerDeps } from '../deps.js';
import type { ToolHost } from '../tool-host.js';
import { registerListWorkersTool } from './list-workers.js';

export function registerAllTools(host: ToolHost, deps: ServerDeps): void {
  registerListWorkersTool(host, deps);
}
