/** Chooses the VM provider of the configuration. */
import { readFileSync } from 'node:fs';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Config } from '../../core/config.js';
import { fatal } from './common.js';
import { randomFor } from './faults.js';
import { DEFAULT_PROXMOX_MCP_TOOLS, McpVmProvider } from './mcp.js';
import type { VmProvider } from './provider.js';
import { ProxmoxVmProvider } from './proxmox.js';
import { SandboxVmProvider } from './sandbox.js';

export type { Vm, VmProvider, VmSpec, VmState } from './provider.js';
export { VmProviderError } from './provider.js';
export { startSandboxHypervisor } from './sandbox-hypervisor.js';

export interface VmProviderDeps {
  kube?: KubeConfig;
  dataDir?: string;
  env?: Record<string, string | undefined>;
}

/** The Proxmox API token, from the environment variable or the file named in config; never logged. */
export function proxmoxToken(config: Config, env: Record<string, string | undefined>): string {
  const px = config.provider.proxmox;
  const fromEnv = px.token_env ? env[px.token_env] : undefined;
  if (fromEnv) return fromEnv.trim();
  if (px.token_file) return readFileSync(px.token_file, 'utf8').trim();
  throw fatal(
    `no Proxmox API token: set $${px.token_env || '<provider.proxmox.token_env>'} or provider.proxmox.token_file`,
  );
}

export function createVmProvider(config: Config, deps: VmProviderDeps = {}): VmProvider {
  const env = deps.env ?? process.env;
  const px = config.provider.proxmox;
  switch (config.provider.type) {
    case 'sandbox': {
      if (!deps.kube) throw fatal('the sandbox provider needs a kubeconfig of the sandbox cluster');
      const sb = config.provider.sandbox;
      return new SandboxVmProvider(deps.kube, {
        namespace: sb.namespace,
        faults: { errorRate: sb.fault.error_rate, neverJoinRate: sb.fault.never_join_rate },
        random: randomFor(sb.fault_seed),
      });
    }
    case 'proxmox':
      if (!px.api_url || !px.node)
        throw fatal('provider.proxmox.api_url and provider.proxmox.node are required');
      return new ProxmoxVmProvider({
        apiUrl: px.api_url,
        token: proxmoxToken(config, env),
        verifyTls: px.verify_tls,
        ...(px.ca_file ? { ca: readFileSync(px.ca_file, 'utf8') } : {}),
        requestTimeoutMs: px.request_timeout_seconds * 1000,
        node: px.node,
        templateId: px.template_id,
        storage: px.storage,
        pool: px.pool,
        vmidMin: px.vmid_min,
        vmidMax: px.vmid_max,
        cicustom: px.cicustom,
        ipconfig0: px.ipconfig0,
        disk: px.disk,
        fullClone: px.full_clone,
        taskTimeoutMs: px.task_timeout_seconds * 1000,
      });
    case 'mcp': {
      const which = config.mcp_servers.preferred_provider;
      const server = config.mcp_servers[which];
      const defaults = which === 'proxmox' ? DEFAULT_PROXMOX_MCP_TOOLS : {};
      const token = server.token_env ? env[server.token_env] : undefined;
      return new McpVmProvider({
        endpoint: server.endpoint,
        tools: { ...defaults, ...server.tools },
        ...(token ? { token } : {}),
        node: px.node || 'pve',
        templateId: px.template_id,
        vmidMin: px.vmid_min,
        vmidMax: px.vmid_max,
        cicustom: px.cicustom,
        ipconfig0: px.ipconfig0,
        disk: px.disk,
        fullClone: px.full_clone,
        taskTimeoutMs: px.task_timeout_seconds * 1000,
        requestTimeoutMs: px.request_timeout_seconds * 1000,
      });
    }
  }
}
