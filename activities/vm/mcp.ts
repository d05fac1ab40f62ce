/**
 * The `mcp` VM provider: delegates VM operations to an external MCP server (a Proxmox MCP
 * server such as gilby125/mcp-proxmox) given as `stdio://command args…` or `http(s)://…/mcp`.
 * Each operation maps to a tool name (config `mcp_servers.<x>.tools`, defaults below).
 * Tools must answer JSON (structuredContent, or a text block holding JSON).
 *
 * The flow is the Proxmox one: look the name up, pick a VMID, clone the template with a
 * description marker, wait for the task, resize, configure (ownership tag last), so a
 * retried create adopts the VM the first attempt made.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { getDefaultEnvironment, StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import { McpError, ErrorCode as McpErrorCode } from '@modelcontextprotocol/sdk/types.js';
import { VM_OWNER_TAG } from '../../core/labels.js';
import { fatal, foreignNameConflict, isOwned, notOwned, sleep, transient } from './common.js';
import { type Vm, type VmProvider, VmProviderError, type VmSpec } from './provider.js';
import { descriptionFor, hasMarker, stateOf, tagsOf } from './proxmox.js';

/** Operations of the provider → tool names of a Proxmox MCP server. */
export const DEFAULT_PROXMOX_MCP_TOOLS = {
  list: 'proxmox_get_vms',
  nextId: 'proxmox_get_next_vmid',
  clone: 'proxmox_clone_vm',
  configure: 'proxmox_update_vm_config',
  resize: 'proxmox_resize_disk',
  start: 'proxmox_start_vm',
  stop: 'proxmox_stop_vm',
  delete: 'proxmox_delete_vm',
  taskStatus: 'proxmox_get_task_status',
} as const;

export type McpOperation = keyof typeof DEFAULT_PROXMOX_MCP_TOOLS;

export interface McpProviderOptions {
  /** `stdio://command arg…` or `http(s)://host/mcp`. */
  endpoint: string;
  tools: Partial<Record<McpOperation, string>>;
  /** Bearer token for HTTP endpoints (never logged). */
  token?: string;
  node: string;
  templateId: number;
  vmidMin: number;
  vmidMax: number;
  cicustom: string;
  ipconfig0: string;
  disk: string;
  fullClone: boolean;
  taskTimeoutMs: number;
  requestTimeoutMs: number;
  taskPollMs?: number;
  /** Extra environment of a stdio server. */
  env?: Record<string, string>;
}

interface RemoteVm {
  vmid: number;
  name?: string;
  node?: string;
  status?: string;
  template?: number | boolean;
  tags?: string;
  description?: string;
  lock?: string;
  ctime?: number;
}

/** A tool answered `isError`. */
class ToolError extends Error {
  get notFound(): boolean {
    return /does not exist|not found|no such vm/i.test(this.message);
  }
  get alreadyExists(): boolean {
    return /already exists/i.test(this.message);
  }
  get retryable(): boolean {
    return !/unauthori[sz]ed|permission|forbidden|protection mode|not supported|invalid|quota|you can't/i.test(
      this.message,
    );
  }
}

/** Splits `stdio://node --import tsx main.ts --stdio` into a command and its arguments. */
export function parseStdioEndpoint(endpoint: string): { command: string; args: string[] } {
  const words = endpoint.slice('stdio://'.length).trim().split(/\s+/).filter(Boolean);
  const [command, ...args] = words;
  if (!command) throw fatal(`MCP endpoint "${endpoint}" names no command`);
  return { command, args };
}

export class McpVmProvider implements VmProvider {
  readonly type = 'mcp' as const;
  private client: Client | undefined;
  private connecting: Promise<Client> | undefined;

  constructor(private readonly opts: McpProviderOptions) {
    if (!/^(stdio|https?):\/\//.test(opts.endpoint)) {
      throw fatal(
        `MCP endpoint must be stdio://command… or http(s)://…/mcp, got "${opts.endpoint || '(empty)'}"`,
      );
    }
  }

  private transport(): Transport {
    const { endpoint } = this.opts;
    if (endpoint.startsWith('stdio://')) {
      const { command, args } = parseStdioEndpoint(endpoint);
      return new StdioClientTransport({
        command,
        args,
        env: { ...getDefaultEnvironment(), ...(this.opts.env ?? {}) },
        stderr: 'inherit',
      });
    }
    return new StreamableHTTPClientTransport(new URL(endpoint), {
      requestInit: this.opts.token ? { headers: { authorization: `Bearer ${this.opts.token}` } } : {},
    });
  }

  private async connect(): Promise<Client> {
    if (this.client) return this.client;
    this.connecting ??= (async () => {
      const client = new Client({ name: 'burst-workers-mcp', version: '0.1.0' });
      try {
        await client.connect(this.transport(), { timeout: this.opts.requestTimeoutMs });
      } catch (err) {
        await client.close().catch(() => undefined);
        throw err;
      }
      client.onclose = () => {
        if (this.client === client) this.client = undefined;
      };
      this.client = client;
      return client;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }

  private toolName(op: McpOperation): string {
    const name = this.opts.tools[op];
    if (!name)
      throw fatal(`no MCP tool is mapped to the "${op}" operation (config mcp_servers.<server>.tools.${op})`);
    return name;
  }

  /** Read-only operations: safe to repeat, so a few quick retries hide single transient failures. */
  private static readonly READS = new Set<McpOperation>(['list', 'nextId', 'taskStatus']);

  /** Calls the tool of an operation; returns its JSON answer. */
  private async call<T>(op: McpOperation, args: Record<string, unknown>): Promise<T> {
    if (!McpVmProvider.READS.has(op)) return this.callOnce<T>(op, args);
    for (let attempt = 1; ; attempt++) {
      try {
        return await this.callOnce<T>(op, args);
      } catch (err) {
        const retryable =
          (err instanceof VmProviderError && err.retryable) ||
          (err instanceof ToolError && err.retryable && !err.alreadyExists && !err.notFound);
        if (!retryable || attempt >= 4) throw err;
        await sleep(50 * 2 ** attempt);
      }
    }
  }

  private async callOnce<T>(op: McpOperation, args: Record<string, unknown>): Promise<T> {
    const name = this.toolName(op);
    let client: Client;
    try {
      client = await this.connect();
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (/401|403|unauthori[sz]ed|forbidden/i.test(msg))
        throw fatal(`MCP server refused the connection: ${msg}`);
      throw transient(`MCP server unreachable: ${msg}`);
    }
    let result: Awaited<ReturnType<Client['callTool']>>;
    try {
      result = await client.callTool({ name, arguments: args }, undefined, {
        timeout: this.opts.requestTimeoutMs,
      });
    } catch (err) {
      if (
        err instanceof McpError &&
        (err.code === McpErrorCode.InvalidParams || err.code === McpErrorCode.MethodNotFound)
      ) {
        throw fatal(`MCP tool ${name}: ${err.message}`);
      }
      // Timeouts, closed connections: reconnect on the next call.
      const stale = this.client;
      this.client = undefined;
      await stale?.close().catch(() => undefined);
      throw transient(`MCP tool ${name}: ${err instanceof Error ? err.message : String(err)}`);
    }
    const content = Array.isArray(result.content)
      ? (result.content as { type: string; text?: string }[])
      : [];
    const text = content
      .filter((c) => c.type === 'text')
      .map((c) => c.text ?? '')
      .join('\n');
    if (result.isError) throw new ToolError(text || `tool ${name} failed`);
    if (result.structuredContent) return result.structuredContent as T;
    try {
      return JSON.parse(text) as T;
    } catch {
      throw fatal(`MCP tool ${name} answered text that is not JSON; map a tool that answers JSON`);
    }
  }

  private wrap(context: string, err: unknown): VmProviderError {
    if (err instanceof VmProviderError) return err;
    if (err instanceof ToolError)
      return new VmProviderError(`MCP ${context}: ${err.message}`, { retryable: err.retryable });
    return transient(`MCP ${context}: ${err instanceof Error ? err.message : String(err)}`);
  }

  private async waitTask(upid: unknown): Promise<void> {
    if (typeof upid !== 'string' || !upid.startsWith('UPID:')) return;
    const deadline = Date.now() + this.opts.taskTimeoutMs;
    let delay = this.opts.taskPollMs ?? 100;
    for (let failures = 0; ; ) {
      let st: { status: string; exitstatus?: string };
      try {
        st = await this.call('taskStatus', { node: upid.split(':')[1] ?? this.opts.node, upid });
      } catch (err) {
        // Polling is safe to repeat; tolerate a few transient failures.
        if (
          !(err instanceof VmProviderError && err.retryable) &&
          !(err instanceof ToolError && err.retryable)
        )
          throw err;
        if (++failures > 8) throw err;
        await sleep(delay);
        continue;
      }
      if (st.status === 'stopped') {
        if (st.exitstatus === 'OK' || st.exitstatus?.startsWith('WARNINGS')) return;
        throw new ToolError(st.exitstatus ?? 'task failed');
      }
      if (Date.now() > deadline)
        throw transient(`task ${upid} still running after ${this.opts.taskTimeoutMs} ms`);
      await sleep(delay);
      delay = Math.min(delay * 2, 2000);
    }
  }

  private async mutate(op: McpOperation, args: Record<string, unknown>): Promise<void> {
    const res = await this.call<{ upid?: string }>(op, args);
    await this.waitTask(res?.upid);
  }

  private async remoteVms(): Promise<RemoteVm[]> {
    const res = await this.call<{ vms?: RemoteVm[] } | RemoteVm[]>('list', {});
    const vms = Array.isArray(res) ? res : (res.vms ?? []);
    return vms.filter((v) => !v.template);
  }

  private toVm(r: RemoteVm): Vm {
    const node = r.node ?? this.opts.node;
    return {
      id: String(r.vmid),
      name: r.name ?? '',
      state: stateOf(r.status ?? '', r.lock),
      createdAt: new Date((r.ctime ?? 0) * 1000).toISOString(),
      providerId: `proxmox://${node}/${r.vmid}`,
      tags: tagsOf(r.tags, r.description),
    };
  }

  private async find(vmid: number): Promise<RemoteVm | undefined> {
    return (await this.remoteVms()).find((v) => Number(v.vmid) === vmid);
  }

  async getVm(id: string): Promise<Vm | null> {
    try {
      const r = await this.find(Number(id));
      return r ? this.toVm(r) : null;
    } catch (err) {
      throw this.wrap(`get VM ${id}`, err);
    }
  }

  async listOwnedVms(): Promise<Vm[]> {
    try {
      return (await this.remoteVms()).map((r) => this.toVm(r)).filter(isOwned);
    } catch (err) {
      throw this.wrap('list VMs', err);
    }
  }

  async findVmByName(name: string): Promise<Vm | null> {
    return (await this.listOwnedVms()).find((v) => v.name === name) ?? null;
  }

  private async lookUpName(name: string): Promise<{ r: RemoteVm; finished: boolean } | null> {
    const candidates = (await this.remoteVms()).filter((r) => r.name === name);
    for (const r of candidates) {
      const finished = isOwned({ tags: tagsOf(r.tags, '') });
      if (finished || hasMarker({ description: r.description }, name)) return { r, finished };
    }
    const foreign = candidates[0];
    if (foreign) throw foreignNameConflict(name, String(foreign.vmid));
    return null;
  }

  private async freeVmid(taken: Set<number>): Promise<number> {
    const used = new Set(
      (await this.call<{ vms?: RemoteVm[] }>('list', {})).vms?.map((v) => Number(v.vmid)) ?? [],
    );
    for (let id = this.opts.vmidMin; id <= this.opts.vmidMax; id++) {
      if (used.has(id) || taken.has(id)) continue;
      try {
        const res = await this.call<{ vmid: number | string }>('nextId', { vmid: id });
        return Number(res.vmid);
      } catch (err) {
        if (err instanceof ToolError && err.alreadyExists) {
          taken.add(id);
          continue;
        }
        throw err;
      }
    }
    throw fatal(`no free VMID in ${this.opts.vmidMin}..${this.opts.vmidMax} (quota of the configured range)`);
  }

  async createVm(spec: VmSpec): Promise<Vm> {
    try {
      const existing = await this.lookUpName(spec.name);
      if (existing) return existing.finished ? this.toVm(existing.r) : await this.finish(existing.r, spec);
      const taken = new Set<number>();
      for (let race = 0; race < 8; race++) {
        const newid = await this.freeVmid(taken);
        let res: { upid?: string };
        try {
          res = await this.call('clone', {
            node: this.opts.node,
            vmid: this.opts.templateId,
            newid,
            name: spec.name,
            full: this.opts.fullClone,
            description: descriptionFor(spec),
          });
        } catch (err) {
          if (err instanceof ToolError && err.alreadyExists) {
            taken.add(newid);
            continue;
          }
          if (err instanceof ToolError && err.notFound) {
            throw fatal(`template ${this.opts.templateId} does not exist on node ${this.opts.node}`);
          }
          // The answer may be lost after the clone happened: adopt it if so.
          const made = await this.lookUpName(spec.name).catch(() => null);
          if (made) return made.finished ? this.toVm(made.r) : await this.finish(made.r, spec);
          throw err;
        }
        try {
          await this.waitTask(res.upid);
        } catch (err) {
          if (err instanceof ToolError && err.alreadyExists) {
            taken.add(newid);
            continue;
          }
          throw err;
        }
        return await this.finish((await this.find(newid)) ?? { vmid: newid }, spec);
      }
      throw transient('MCP clone: lost the VMID race 8 times');
    } catch (err) {
      throw this.wrap(`create VM ${spec.name}`, err);
    }
  }

  private async finish(r: RemoteVm, spec: VmSpec): Promise<Vm> {
    const node = r.node ?? this.opts.node;
    const deadline = Date.now() + this.opts.taskTimeoutMs;
    let current = await this.find(Number(r.vmid));
    while (current?.lock) {
      if (Date.now() > deadline) throw transient(`VM ${r.vmid} still locked (${current.lock})`);
      await sleep(this.opts.taskPollMs ?? 100);
      current = await this.find(Number(r.vmid));
    }
    if (!current) throw transient(`VM ${r.vmid} disappeared while being created`);
    if (this.opts.tools.resize) {
      await this.mutate('resize', {
        node,
        vmid: r.vmid,
        disk: this.opts.disk,
        size: `${spec.size.disk_gb}G`,
      });
    }
    await this.mutate('configure', {
      node,
      vmid: r.vmid,
      cores: spec.size.cpu,
      memory: spec.size.memory_gb * 1024,
      ...(this.opts.ipconfig0 ? { ipconfig0: this.opts.ipconfig0 } : {}),
      ...(this.opts.cicustom ? { cicustom: this.opts.cicustom } : {}),
      description: descriptionFor(spec),
      tags: VM_OWNER_TAG,
    });
    const done = await this.find(Number(r.vmid));
    if (!done) throw transient(`VM ${r.vmid} disappeared while being created`);
    return this.toVm(done);
  }

  async startVm(id: string): Promise<Vm> {
    try {
      const r = await this.find(Number(id));
      if (!r) throw fatal(`VM ${id} does not exist`);
      const vm = this.toVm(r);
      if (!isOwned(vm)) throw notOwned(vm);
      if (r.status !== 'running') {
        try {
          await this.mutate('start', { node: r.node ?? this.opts.node, vmid: r.vmid });
        } catch (err) {
          if (!(err instanceof ToolError && /already running/i.test(err.message))) throw err;
        }
      }
      const after = await this.find(Number(id));
      if (!after) throw transient(`VM ${id} disappeared while starting`);
      return this.toVm(after);
    } catch (err) {
      throw this.wrap(`start VM ${id}`, err);
    }
  }

  async deleteVm(id: string): Promise<void> {
    try {
      const r = await this.find(Number(id));
      if (!r) return;
      const vm = this.toVm(r);
      if (!isOwned(vm) && !hasMarker({ description: r.description })) throw notOwned(vm);
      const node = r.node ?? this.opts.node;
      if (r.status === 'running') await this.mutate('stop', { node, vmid: r.vmid });
      await this.mutate('delete', { node, vmid: r.vmid, purge: true });
    } catch (err) {
      if (err instanceof ToolError && err.notFound) return;
      throw this.wrap(`delete VM ${id}`, err);
    }
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.close().catch(() => undefined);
  }
}
