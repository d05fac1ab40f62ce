/**
 * createServer(deps): one McpServer with every tool registered through the ToolHost.
 * The HTTP transport calls it once per session (SDK >= 1.26 requires one server
 * instance per transport); stdio calls it once.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { ServerDeps } from './deps.js';
import { type ToolExtra, ToolHost } from './tool-host.js';
import { registerAllTools } from './tools/index.js';

export const SERVER_NAME = 'burst-workers-mcp';
export const SERVER_VERSION = '0.1.0';

const INSTRUCTIONS = [
  'Manages the worker nodes of a Kubernetes cluster: permanent workers are only looked at;',
  'burst workers are VMs this server provisions with a TTL, drains and destroys.',
  'Every mutation is a durable Temporal workflow: mutating tools return an operation id at once;',
  'follow it with get_operation. Destroy needs a drained worker (drain_worker first) and a confirmation',
  '(elicitation, or the token returned by destroy_worker with dry_run=true).',
].join(' ');

export function callerOf(extra: ToolExtra, transportName: string): string {
  const client = extra.authInfo?.clientId;
  if (client) return client;
  return extra.sessionId ? `${transportName}:${extra.sessionId.slice(0, 8)}` : transportName;
}

export function createServer(deps: ServerDeps): { server: McpServer; tools: string[] } {
  const server = new McpServer(
    { name: SERVER_NAME, version: SERVER_VERSION },
    { capabilities: { tools: { listChanged: false }, logging: {} }, instructions: INSTRUCTIONS },
  );
  const host = new ToolHost(server, {
    modes: {
      read_only: deps.config.safety.read_only,
      allow_destructive: deps.config.safety.allow_destructive,
    },
    audit: deps.audit,
    callerOf: (extra) => callerOf(extra, deps.transportName),
  });
  registerAllTools(host, deps);
  host.install();
  return { server, tools: host.listed() };
}
