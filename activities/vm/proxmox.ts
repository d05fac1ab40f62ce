/**
 * The `proxmox` VM provider: clones a template through the Proxmox VE REST API.
 *
 * Create is idempotent on the name: before cloning, and after a clone whose answer was
 * lost, it looks the name up. The clone carries a description marker naming this system
 * and the VM, so a half-made clone (cloned, not yet configured) is adopted and finished by
 * the retry instead of being cloned twice. The ownership tag is written by the last
 * configuration step, so a tagged VM is a finished one.
 */
import { createHash } from 'node:crypto';
import { VM_OWNER_TAG } from '../../core/labels.js';
import {
  fatal,
  foreignNameConflict,
  isOwned,
  notOwned,
  OWNER_TAG_VALUE,
  sleep,
  transient,
} from './common.js';
import { type Vm, type VmProvider, VmProviderError, type VmSpec, type VmState } from './provider.js';
import { type Params, ProxmoxApiError, ProxmoxClient, type ProxmoxClientOptions } from './proxmox-client.js';

export interface ProxmoxProviderOptions extends ProxmoxClientOptions {
  node: string;
  templateId: number;
  storage: string;
  pool: string;
  vmidMin: number;
  vmidMax: number;
  cicustom: string;
  ipconfig0: string;
  disk: string;
  fullClone: boolean;
  taskTimeoutMs: number;
  /** First poll interval of task status. */
  taskPollMs?: number;
}

interface Resource {
  vmid: number;
  name?: string;
  node: string;
  status: string;
  template?: number;
  tags?: string;
  lock?: string;
}

export type VmConfig = Record<string, string | number | undefined>;

const MARKER = `managed-by=${VM_OWNER_TAG}`;
const MAX_ID_RACES = 8;

export function markerOf(name: string): string {
  return `${MARKER} name=${name}`;
}

/** Description lines: the marker, then `tag.<key>=<value>` for the caller's tags, then the payload digest. */
export function descriptionFor(spec: VmSpec): string {
  const lines = [markerOf(spec.name)];
  for (const [k, v] of Object.entries(spec.tags ?? {})) lines.push(`tag.${k}=${v}`);
  lines.push(`user-data-sha256=${createHash('sha256').update(spec.userData).digest('hex')}`);
  return lines.join('\n');
}

export function hasMarker(config: VmConfig, name?: string): boolean {
  const desc = String(config.description ?? '');
  return name === undefined ? desc.includes(MARKER) : desc.split('\n').includes(markerOf(name));
}

export function tagsOf(
  proxmoxTags: string | number | undefined,
  description: string | number | undefined,
): Record<string, string> {
  const tags: Record<string, string> = {};
  for (const line of String(description ?? '').split('\n')) {
    const m = /^tag\.([^=]+)=(.*)$/.exec(line);
    if (m) tags[m[1] as string] = m[2] as string;
  }
  for (const t of String(proxmoxTags ?? '')
    .split(/[;, ]/)
    .filter(Boolean)) {
    tags[t] = t === VM_OWNER_TAG ? OWNER_TAG_VALUE : (tags[t] ?? '');
  }
  return tags;
}

export function stateOf(status: string, lock: string | number | undefined): VmState {
  if (lock === 'clone' || lock === 'create') return 'provisioning';
  if (status === 'running') return 'running';
  if (status === 'stopped') return 'stopped';
  return 'unknown';
}

function ctimeOf(config: VmConfig): string {
  const m = /ctime=(\d+)/.exec(String(config.meta ?? ''));
  return new Date(m ? Number(m[1]) * 1000 : 0).toISOString();
}

function diskGb(value: string | number | undefined): number {
  const m = /size=(\d+(?:\.\d+)?)([KMGT])/.exec(String(value ?? ''));
  if (!m) return 0;
  return Number(m[1]) * { K: 1 / 1048576, M: 1 / 1024, G: 1, T: 1024 }[m[2] as 'K' | 'M' | 'G' | 'T'];
}

export class ProxmoxVmProvider implements VmProvider {
  readonly type = 'proxmox' as const;
  private readonly api: ProxmoxClient;

  constructor(private readonly opts: ProxmoxProviderOptions) {
    this.api = new ProxmoxClient(opts);
  }

  private wrap(context: string, err: unknown): VmProviderError {
    if (err instanceof VmProviderError) return err;
    if (err instanceof ProxmoxApiError) return err.toProviderError(context);
    return transient(`Proxmox ${context}: ${err instanceof Error ? err.message : String(err)}`);
  }

  private qemu(node: string, vmid: number | string, rest = ''): string {
    return `/nodes/${encodeURIComponent(node)}/qemu/${vmid}${rest}`;
  }

  /** Runs a mutating call; waits for its task when it answers with a UPID. */
  private async mutate(method: 'POST' | 'PUT' | 'DELETE', path: string, params: Params): Promise<void> {
    const data = await this.api.call<unknown>(method, path, params);
    if (typeof data === 'string' && data.startsWith('UPID:')) {
      await this.api.waitTask(data, this.opts.taskTimeoutMs, this.opts.taskPollMs ?? 100);
    }
  }

  private async resources(): Promise<Resource[]> {
    const all = await this.api.get<Resource[]>('/cluster/resources', { type: 'vm' });
    return all.filter((r) => !r.template);
  }

  private async config(node: string, vmid: number): Promise<VmConfig | null> {
    try {
      return await this.api.get<VmConfig>(this.qemu(node, vmid, '/config'));
    } catch (err) {
      if (err instanceof ProxmoxApiError && err.notFound) return null;
      throw err;
    }
  }

  private toVm(r: Resource, config: VmConfig): Vm {
    return {
      id: String(r.vmid),
      name: String(config.name ?? r.name ?? ''),
      state: stateOf(r.status, config.lock ?? r.lock),
      createdAt: ctimeOf(config),
      providerId: `proxmox://${r.node}/${r.vmid}`,
      tags: tagsOf(config.tags ?? r.tags, config.description),
    };
  }

  private async resource(vmid: number): Promise<Resource | undefined> {
    return (await this.resources()).find((r) => r.vmid === vmid);
  }

  private async load(vmid: number): Promise<{ r: Resource; config: VmConfig } | null> {
    const r = await this.resource(vmid);
    if (!r) return null;
    const config = await this.config(r.node, vmid);
    return config ? { r, config } : null;
  }

  async getVm(id: string): Promise<Vm | null> {
    try {
      const found = await this.load(Number(id));
      return found ? this.toVm(found.r, found.config) : null;
    } catch (err) {
      throw this.wrap(`get VM ${id}`, err);
    }
  }

  async listOwnedVms(): Promise<Vm[]> {
    try {
      const owned = (await this.resources()).filter((r) => isOwned({ tags: tagsOf(r.tags, '') }));
      const vms = await Promise.all(
        owned.map(async (r) => {
          const config = await this.config(r.node, r.vmid);
          return config ? this.toVm(r, config) : null;
        }),
      );
      return vms.filter((v): v is Vm => v !== null && isOwned(v));
    } catch (err) {
      throw this.wrap('list VMs', err);
    }
  }

  async findVmByName(name: string): Promise<Vm | null> {
    return (await this.listOwnedVms()).find((v) => v.name === name) ?? null;
  }

  /** A VM of that name: owned, ours but unfinished (marker, no tag), or foreign (conflict). */
  private async lookUpName(
    name: string,
  ): Promise<{ r: Resource; config: VmConfig; finished: boolean } | null> {
    const candidates = (await this.resources()).filter((r) => r.name === name);
    for (const r of candidates) {
      const config = await this.config(r.node, r.vmid);
      if (!config) continue;
      const finished = isOwned({ tags: tagsOf(config.tags, '') });
      if (finished || hasMarker(config, name)) return { r, config, finished };
    }
    const foreign = candidates[0];
    if (foreign) throw foreignNameConflict(name, String(foreign.vmid));
    return null;
  }

  private async freeVmid(exclude: Set<number>): Promise<number> {
    const used = new Set(
      (await this.api.get<Resource[]>('/cluster/resources', { type: 'vm' })).map((r) => r.vmid),
    );
    for (let id = this.opts.vmidMin; id <= this.opts.vmidMax; id++) {
      if (used.has(id) || exclude.has(id)) continue;
      try {
        return Number(await this.api.get<string>('/cluster/nextid', { vmid: id }));
      } catch (err) {
        if (err instanceof ProxmoxApiError && err.alreadyExists) {
          exclude.add(id);
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
      if (existing) {
        return existing.finished
          ? this.toVm(existing.r, existing.config)
          : await this.finish(existing.r, spec);
      }
      const taken = new Set<number>();
      for (let race = 0; race < MAX_ID_RACES; race++) {
        const newid = await this.freeVmid(taken);
        let upid: string;
        try {
          upid = await this.api.call<string>(
            'POST',
            this.qemu(this.opts.node, this.opts.templateId, '/clone'),
            {
              newid,
              name: spec.name,
              full: this.opts.fullClone,
              storage: this.opts.fullClone && this.opts.storage ? this.opts.storage : undefined,
              pool: this.opts.pool || undefined,
              description: descriptionFor(spec),
            },
          );
        } catch (err) {
          if (err instanceof ProxmoxApiError && err.alreadyExists) {
            taken.add(newid);
            continue;
          }
          if (err instanceof ProxmoxApiError && err.notFound) {
            throw fatal(`Proxmox template ${this.opts.templateId} does not exist on node ${this.opts.node}`);
          }
          if (err instanceof ProxmoxApiError && err.status === 0) {
            // The answer was lost; the clone may have happened. Adopt it if so.
            const made = await this.lookUpName(spec.name).catch(() => null);
            if (made) return made.finished ? this.toVm(made.r, made.config) : await this.finish(made.r, spec);
          }
          throw err;
        }
        try {
          await this.api.waitTask(upid, this.opts.taskTimeoutMs, this.opts.taskPollMs ?? 100);
        } catch (err) {
          if (err instanceof ProxmoxApiError && err.alreadyExists) {
            taken.add(newid);
            continue;
          }
          throw err;
        }
        const r = (await this.resource(newid)) ?? { vmid: newid, node: this.opts.node, status: 'stopped' };
        return await this.finish(r, spec);
      }
      throw transient(`Proxmox clone: lost the VMID race ${MAX_ID_RACES} times`);
    } catch (err) {
      throw this.wrap(`create VM ${spec.name}`, err);
    }
  }

  /** Finishes a clone: waits for its lock, resizes the disk, then configures it (tags last). */
  private async finish(r: Resource, spec: VmSpec): Promise<Vm> {
    const deadline = Date.now() + this.opts.taskTimeoutMs;
    let config = await this.config(r.node, r.vmid);
    while (config?.lock) {
      if (Date.now() > deadline) throw transient(`Proxmox VM ${r.vmid} still locked (${config.lock})`);
      await sleep(this.opts.taskPollMs ?? 100);
      config = await this.config(r.node, r.vmid);
    }
    if (!config) throw transient(`Proxmox VM ${r.vmid} disappeared while being created`);
    if (diskGb(config[this.opts.disk]) < spec.size.disk_gb) {
      await this.mutate('PUT', this.qemu(r.node, r.vmid, '/resize'), {
        disk: this.opts.disk,
        size: `${spec.size.disk_gb}G`,
      });
    }
    await this.mutate('POST', this.qemu(r.node, r.vmid, '/config'), {
      cores: spec.size.cpu,
      memory: spec.size.memory_gb * 1024,
      ipconfig0: this.opts.ipconfig0 || undefined,
      cicustom: this.opts.cicustom || undefined,
      description: descriptionFor(spec),
      tags: VM_OWNER_TAG,
    });
    const vm = await this.load(r.vmid);
    if (!vm) throw transient(`Proxmox VM ${r.vmid} disappeared while being created`);
    return this.toVm(vm.r, vm.config);
  }

  async startVm(id: string): Promise<Vm> {
    try {
      const found = await this.load(Number(id));
      if (!found) throw fatal(`Proxmox VM ${id} does not exist`);
      const vm = this.toVm(found.r, found.config);
      if (!isOwned(vm)) throw notOwned(vm);
      if (found.r.status !== 'running') {
        try {
          await this.mutate('POST', this.qemu(found.r.node, id, '/status/start'), {});
        } catch (err) {
          if (!(err instanceof ProxmoxApiError && /already running/i.test(err.message))) throw err;
        }
      }
      const after = await this.load(Number(id));
      if (!after) throw transient(`Proxmox VM ${id} disappeared while starting`);
      return this.toVm(after.r, after.config);
    } catch (err) {
      throw this.wrap(`start VM ${id}`, err);
    }
  }

  async deleteVm(id: string): Promise<void> {
    try {
      const found = await this.load(Number(id));
      if (!found) return;
      const vm = this.toVm(found.r, found.config);
      if (!isOwned(vm) && !hasMarker(found.config)) throw notOwned(vm);
      if (found.config.protection === 1 || found.config.protection === '1') {
        throw fatal(`Proxmox VM ${id} has protection=1; refusing to delete it`);
      }
      if (found.r.status === 'running') {
        await this.mutate('POST', this.qemu(found.r.node, id, '/status/stop'), {});
      }
      await this.mutate('DELETE', this.qemu(found.r.node, id), { purge: 1, 'destroy-unreferenced-disks': 1 });
    } catch (err) {
      if (err instanceof ProxmoxApiError && err.notFound) return;
      throw this.wrap(`delete VM ${id}`, err);
    }
  }

  async close(): Promise<void> {
    this.api.close();
  }
}
