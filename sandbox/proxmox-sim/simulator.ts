/**
 * A Proxmox VE API simulator: HTTP on loopback, following the documented `/api2/json` API
 * closely enough to exercise a real client (token auth, asynchronous tasks with UPIDs,
 * config locks, "already exists" races, protection, running VMs refusing deletion,
 * `/cluster/resources`), with fault injection. What it does NOT cover is listed in
 * docs/providers.md.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { chance, type Random, randomFor } from '../../activities/vm/faults.js';

export interface SimVm {
  vmid: number;
  node: string;
  name: string;
  status: 'running' | 'stopped';
  template: boolean;
  /** `lock` of the config while a task holds it (clone, create, destroyed, …). */
  lock?: string;
  protection: boolean;
  /** Everything else in the VM config (cores, memory, tags, description, disks, cloud-init). */
  config: Record<string, string | number>;
  ctime: number;
}

interface SimTask {
  upid: string;
  node: string;
  type: string;
  id: string;
  user: string;
  starttime: number;
  done: boolean;
  exitstatus?: string;
}

export interface ProxmoxSimFaults {
  /** Probability that a request fails with a 5xx before doing anything. */
  errorRate?: number;
  /** Probability that a request is applied but its response never arrives (socket closed). */
  dropRate?: number;
  /** Probability that a clone loses a race: another client takes the new VMID first. */
  raceRate?: number;
  /** Extra latency of every request. */
  latencyMs?: number;
}

export interface ProxmoxSimOptions {
  /** `USER@REALM!TOKENID` → secret. */
  tokens?: Record<string, string>;
  /** Token ids that authenticate but lack privileges (403). */
  unprivilegedTokens?: string[];
  nodes?: string[];
  /** How long a task (clone, start, stop, delete, resize, config) runs. */
  taskMs?: number;
  faults?: ProxmoxSimFaults;
  seed?: number;
  random?: Random;
  /** Lowest VMID /cluster/nextid hands out (datacenter.cfg `next-id: lower=`). */
  nextIdLower?: number;
}

class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: Record<string, string>,
  ) {
    super(message);
  }
}

type Params = Record<string, string>;

const PREFIX = '/api2/json';

function now(): number {
  return Math.floor(Date.now() / 1000);
}

function confMissing(node: string, vmid: number | string): ApiError {
  return new ApiError(500, `Configuration file 'nodes/${node}/qemu-server/${vmid}.conf' does not exist`);
}

function parseSize(s: string): number {
  const m = /^(\+)?(\d+(?:\.\d+)?)([KMGT])?$/.exec(s);
  if (!m)
    throw new ApiError(400, 'Parameter verification failed.', { size: `value '${s}' does not match format` });
  const mult = { K: 1 / (1024 * 1024), M: 1 / 1024, G: 1, T: 1024 }[(m[3] ?? 'G') as 'K' | 'M' | 'G' | 'T'];
  return Number(m[2]) * mult;
}

function diskSizeGb(value: string | number | undefined): number {
  const m = /size=(\d+(?:\.\d+)?)([KMGT])/.exec(String(value ?? ''));
  return m ? parseSize(`${m[1]}${m[2]}`) : 0;
}

export class ProxmoxSimulator {
  readonly vms = new Map<number, SimVm>();
  readonly tasks = new Map<string, SimTask>();
  readonly tokens: Record<string, string>;
  readonly unprivileged: Set<string>;
  readonly nodes: string[];
  faults: Required<ProxmoxSimFaults>;
  taskMs: number;
  nextIdLower: number;
  /** Requests (`METHOD path`) whose next match is applied and its answer dropped, once each. */
  readonly dropOnce: RegExp[] = [];
  /** Requests seen, by `METHOD path` (tests assert on the protocol followed). */
  readonly requests: string[] = [];
  private random: Random;
  private server: Server | undefined;
  private pid = 1000;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly pending = new Map<string, () => void>();

  constructor(opts: ProxmoxSimOptions = {}) {
    this.tokens = opts.tokens ?? { 'root@pam!burst': 'sim-secret' };
    this.unprivileged = new Set(opts.unprivilegedTokens ?? []);
    this.nodes = opts.nodes ?? ['pve'];
    this.taskMs = opts.taskMs ?? 50;
    this.nextIdLower = opts.nextIdLower ?? 100;
    this.faults = { errorRate: 0, dropRate: 0, raceRate: 0, latencyMs: 0, ...opts.faults };
    this.random = opts.random ?? randomFor(opts.seed);
  }

  /** Completes every running task now (tests that must see a task running, then done). */
  completeTasks(): void {
    for (const complete of [...this.pending.values()]) complete();
  }

  /** Adds a VM directly (a template, or a foreign VM this system must never touch). */
  addVm(vm: Partial<SimVm> & { vmid: number; name: string }): SimVm {
    const full: SimVm = {
      node: this.nodes[0] as string,
      status: 'stopped',
      template: false,
      protection: false,
      config: { cores: 1, memory: 2048, scsi0: `local-lvm:vm-${vm.vmid}-disk-0,size=10G` },
      ctime: now(),
      ...vm,
    };
    this.vms.set(full.vmid, full);
    return full;
  }

  /** Serves HTTP, or HTTPS when `tls` (PEM key and certificate) is given; returns the API base URL. */
  async listen(port = 0, host = '127.0.0.1', tls?: { key: string; cert: string }): Promise<string> {
    const handler = (req: IncomingMessage, res: ServerResponse) => {
      void this.handle(req, res);
    };
    this.server = tls ? createHttpsServer(tls, handler) : createServer(handler);
    await new Promise<void>((resolve) => this.server?.listen(port, host, resolve));
    const addr = this.server.address() as AddressInfo;
    return `${tls ? 'https' : 'http'}://${host}:${addr.port}${PREFIX}`;
  }

  async close(): Promise<void> {
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    const server = this.server;
    if (!server) return;
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of req) body += chunk;
    const url = new URL(req.url ?? '/', 'http://sim');
    const method = req.method ?? 'GET';
    this.requests.push(`${method} ${url.pathname.replace(PREFIX, '')}${url.search}`);
    const send = (status: number, payload: unknown, reason?: string) => {
      res.writeHead(status, reason?.replace(/[^\x20-\x7e]/g, ' ') ?? '', {
        'content-type': 'application/json;charset=UTF-8',
      });
      res.end(JSON.stringify(payload));
    };
    try {
      if (this.faults.latencyMs > 0) await new Promise((r) => setTimeout(r, this.faults.latencyMs));
      const user = this.authenticate(req.headers.authorization);
      if (chance(this.random, this.faults.errorRate)) {
        throw new ApiError(503, 'simulated failure: service unavailable');
      }
      const params: Params = Object.fromEntries(url.searchParams);
      Object.assign(params, this.parseBody(body, req.headers['content-type']));
      const data = this.route(method, url.pathname, params, user);
      const key = `${method} ${url.pathname.replace(PREFIX, '')}`;
      const once = this.dropOnce.findIndex((re) => re.test(key));
      if (once >= 0) this.dropOnce.splice(once, 1);
      if (once >= 0 || chance(this.random, this.faults.dropRate)) {
        // The action is applied, the answer is lost: the client sees a timeout after success.
        req.socket.destroy();
        return;
      }
      send(200, { data });
    } catch (err) {
      if (err instanceof ApiError) {
        send(
          err.status,
          { data: null, message: `${err.message}\n`, ...(err.errors ? { errors: err.errors } : {}) },
          err.message,
        );
      } else {
        send(500, { data: null, message: `${String(err)}\n` }, 'internal error');
      }
    }
  }

  private parseBody(body: string, contentType: string | undefined): Params {
    if (!body) return {};
    if (contentType?.includes('application/json')) {
      const parsed = JSON.parse(body) as Record<string, unknown>;
      return Object.fromEntries(Object.entries(parsed).map(([k, v]) => [k, String(v)]));
    }
    return Object.fromEntries(new URLSearchParams(body));
  }

  private authenticate(header: string | undefined): string {
    const m = /^PVEAPIToken=([^=!]+@[^=!]+)!([^=]+)=(.+)$/.exec(header ?? '');
    if (!m) throw new ApiError(401, 'No ticket');
    const tokenId = `${m[1]}!${m[2]}`;
    if (this.tokens[tokenId] !== m[3]) throw new ApiError(401, 'invalid token value!');
    if (this.unprivileged.has(tokenId)) throw new ApiError(403, 'Permission check failed');
    return tokenId;
  }

  private route(method: string, fullPath: string, p: Params, user: string): unknown {
    if (!fullPath.startsWith(PREFIX))
      throw new ApiError(501, `Method '${method} ${fullPath}' not implemented`);
    const path = fullPath.slice(PREFIX.length);
    const seg = path.split('/').filter(Boolean).map(decodeURIComponent);
    const is = (m: string, pattern: string) =>
      m === method &&
      pattern.split('/').filter(Boolean).length === seg.length &&
      pattern
        .split('/')
        .filter(Boolean)
        .every((part, i) => part.startsWith(':') || part === seg[i]);

    if (is('GET', '/version')) return { version: '8.2.4', release: '8.2', repoid: 'simulated' };
    if (is('GET', '/cluster/nextid')) return this.nextId(p.vmid);
    if (is('GET', '/cluster/resources')) return this.resources(p.type);
    if (is('GET', '/nodes')) return this.nodes.map((node) => ({ node, status: 'online', type: 'node' }));

    const node = seg[1] as string;
    if (seg[0] === 'nodes' && !this.nodes.includes(node)) {
      throw new ApiError(595, `no such cluster node '${node}'`);
    }
    if (is('GET', '/nodes/:node/tasks/:upid/status')) return this.taskStatus(seg[3] as string);
    if (is('GET', '/nodes/:node/qemu')) {
      return [...this.vms.values()].filter((v) => v.node === node).map((v) => this.resourceOf(v));
    }
    const vmid = Number(seg[3]);
    if (is('POST', '/nodes/:node/qemu/:vmid/clone')) return this.clone(node, vmid, p, user);
    if (is('GET', '/nodes/:node/qemu/:vmid/config')) return this.getConfig(node, vmid);
    if (is('POST', '/nodes/:node/qemu/:vmid/config')) return this.setConfig(node, vmid, p, user);
    if (is('PUT', '/nodes/:node/qemu/:vmid/resize')) return this.resize(node, vmid, p, user);
    if (is('GET', '/nodes/:node/qemu/:vmid/status/current')) {
      const vm = this.vm(node, vmid);
      return { vmid, name: vm.name, status: vm.status, ...(vm.lock ? { lock: vm.lock } : {}) };
    }
    if (is('POST', '/nodes/:node/qemu/:vmid/status/start')) return this.start(node, vmid, user);
    if (is('POST', '/nodes/:node/qemu/:vmid/status/stop')) return this.stop(node, vmid, user);
    if (is('DELETE', '/nodes/:node/qemu/:vmid')) return this.destroy(node, vmid, p, user);
    throw new ApiError(501, `Method '${method} ${path}' not implemented`);
  }

  private vm(node: string, vmid: number): SimVm {
    const vm = this.vms.get(vmid);
    if (!vm || vm.node !== node) throw confMissing(node, vmid);
    return vm;
  }

  private checkUnlocked(vm: SimVm): void {
    if (vm.lock) throw new ApiError(500, `VM ${vm.vmid} is locked (${vm.lock})`);
  }

  private nextId(requested: string | undefined): string {
    if (requested !== undefined) {
      const id = Number(requested);
      if (!Number.isInteger(id) || id < 100) {
        throw new ApiError(400, 'Parameter verification failed.', { vmid: 'invalid format' });
      }
      if (this.vms.has(id)) throw new ApiError(400, `VM ${id} already exists`);
      return String(id);
    }
    let id = this.nextIdLower;
    while (this.vms.has(id)) id++;
    return String(id);
  }

  private resourceOf(vm: SimVm): Record<string, unknown> {
    return {
      id: `qemu/${vm.vmid}`,
      type: 'qemu',
      vmid: vm.vmid,
      name: vm.name,
      node: vm.node,
      status: vm.status,
      template: vm.template ? 1 : 0,
      ...(vm.config.tags ? { tags: vm.config.tags } : {}),
      maxcpu: Number(vm.config.cores ?? 1),
      maxmem: Number(vm.config.memory ?? 512) * 1024 * 1024,
      maxdisk: Math.round(diskSizeGb(vm.config.scsi0) * 1024 ** 3),
      uptime: vm.status === 'running' ? 1 : 0,
      ...(vm.lock ? { lock: vm.lock } : {}),
    };
  }

  private resources(type: string | undefined): unknown[] {
    const vms = [...this.vms.values()].map((v) => this.resourceOf(v));
    const nodes = this.nodes.map((n) => ({ id: `node/${n}`, type: 'node', node: n, status: 'online' }));
    if (type === 'vm') return vms;
    if (type === 'node') return nodes;
    return [...nodes, ...vms];
  }

  /** Starts a task; `finish` runs when it completes and returns its exit status. */
  private task(node: string, type: string, id: string, user: string, finish: () => string): string {
    const starttime = now();
    const pid = this.pid++;
    const hex = (n: number, w: number) => n.toString(16).toUpperCase().padStart(w, '0');
    const upid = `UPID:${node}:${hex(pid, 8)}:${hex(pid * 7, 8)}:${hex(starttime, 8)}:${type}:${id}:${user}:`;
    const task: SimTask = { upid, node, type, id, user, starttime, done: false };
    this.tasks.set(upid, task);
    const complete = () => {
      clearTimeout(timer);
      this.timers.delete(timer);
      this.pending.delete(upid);
      try {
        task.exitstatus = finish();
      } catch (err) {
        task.exitstatus = err instanceof Error ? err.message : String(err);
      }
      task.done = true;
    };
    const timer = setTimeout(complete, this.taskMs);
    this.timers.add(timer);
    this.pending.set(upid, complete);
    return upid;
  }

  private taskStatus(upid: string): unknown {
    const task = this.tasks.get(upid);
    if (!task) throw new ApiError(500, `no such task`);
    return {
      upid,
      node: task.node,
      type: task.type,
      id: task.id,
      user: task.user,
      starttime: task.starttime,
      pid: 0,
      status: task.done ? 'stopped' : 'running',
      ...(task.done ? { exitstatus: task.exitstatus } : {}),
    };
  }

  private clone(node: string, vmid: number, p: Params, user: string): string {
    const source = this.vm(node, vmid);
    const newid = Number(p.newid);
    if (!Number.isInteger(newid) || newid < 100) {
      throw new ApiError(400, 'Parameter verification failed.', { newid: 'invalid format' });
    }
    if (p.name !== undefined && !/^[a-zA-Z0-9]([a-zA-Z0-9.-]*[a-zA-Z0-9])?$/.test(p.name)) {
      throw new ApiError(400, 'Parameter verification failed.', {
        name: 'value does not look like a valid DNS name',
      });
    }
    if (!this.vms.has(newid) && chance(this.random, this.faults.raceRate)) {
      // Another client cloned into the same free id between our nextid and our clone.
      this.addVm({ vmid: newid, name: `race-${newid}`, node });
    }
    if (this.vms.has(newid))
      throw new ApiError(500, `unable to create VM ${newid}: config file already exists`);
    if (!source.template) this.checkUnlocked(source);
    const config: Record<string, string | number> = { ...source.config };
    if (p.description !== undefined) config.description = p.description;
    const disk = Object.keys(config).find(
      (k) => /^(scsi|virtio|sata|ide)\d+$/.test(k) && String(config[k]).includes('size='),
    );
    if (disk) config[disk] = String(config[disk]).replace(/vm-\d+-disk/, `vm-${newid}-disk`);
    const vm = this.addVm({
      vmid: newid,
      node: p.target ?? node,
      name: p.name ?? `Copy-of-VM-${source.name}`,
      lock: 'clone',
      config,
    });
    return this.task(node, 'qmclone', String(vmid), user, () => {
      delete vm.lock;
      return 'OK';
    });
  }

  private getConfig(node: string, vmid: number): unknown {
    const vm = this.vm(node, vmid);
    return {
      name: vm.name,
      ...vm.config,
      meta: `creation-qemu=8.1.5,ctime=${vm.ctime}`,
      digest: 'simulated',
      ...(vm.template ? { template: 1 } : {}),
      ...(vm.protection ? { protection: 1 } : {}),
      ...(vm.lock ? { lock: vm.lock } : {}),
    };
  }

  private setConfig(node: string, vmid: number, p: Params, user: string): string {
    const vm = this.vm(node, vmid);
    this.checkUnlocked(vm);
    const errors: Record<string, string> = {};
    for (const key of ['cores', 'memory']) {
      if (p[key] !== undefined && !/^\d+$/.test(p[key]))
        errors[key] = `type check ('integer') failed - got '${p[key]}'`;
    }
    if (p.tags !== undefined) {
      for (const tag of p.tags.split(/[;, ]/).filter(Boolean)) {
        if (!/^[a-z0-9_][a-z0-9_+.-]*$/i.test(tag)) errors.tags = `invalid format - invalid tag '${tag}'`;
      }
    }
    if (Object.keys(errors).length > 0) throw new ApiError(400, 'Parameter verification failed.', errors);
    for (const [key, value] of Object.entries(p)) {
      if (key === 'digest' || key === 'delete') continue;
      if (key === 'protection') vm.protection = value === '1';
      else if (key === 'name') vm.name = value;
      else if (key === 'tags') vm.config.tags = value.split(/[;, ]/).filter(Boolean).join(';');
      else
        vm.config[key] = /^\d+$/.test(value) && (key === 'cores' || key === 'memory') ? Number(value) : value;
    }
    for (const key of (p.delete ?? '').split(',').filter(Boolean)) delete vm.config[key];
    return this.task(node, 'qmconfig', String(vmid), user, () => 'OK');
  }

  private resize(node: string, vmid: number, p: Params, user: string): string {
    const vm = this.vm(node, vmid);
    this.checkUnlocked(vm);
    const disk = p.disk ?? '';
    if (vm.config[disk] === undefined) throw new ApiError(500, `disk '${disk}' does not exist`);
    const current = diskSizeGb(vm.config[disk]);
    const size = p.size ?? '';
    const target = size.startsWith('+') ? current + parseSize(size) : parseSize(size);
    if (target < current) throw new ApiError(500, `shrinking disks is not supported`);
    vm.config[disk] = String(vm.config[disk]).replace(/size=[^,]+/, `size=${target}G`);
    return this.task(node, 'resize', String(vmid), user, () => 'OK');
  }

  private start(node: string, vmid: number, user: string): string {
    const vm = this.vm(node, vmid);
    this.checkUnlocked(vm);
    if (vm.template) throw new ApiError(500, `you can't start a vm if it's a template`);
    if (vm.status === 'running') throw new ApiError(500, `VM ${vmid} already running`);
    return this.task(node, 'qmstart', String(vmid), user, () => {
      vm.status = 'running';
      return 'OK';
    });
  }

  private stop(node: string, vmid: number, user: string): string {
    const vm = this.vm(node, vmid);
    this.checkUnlocked(vm);
    return this.task(node, 'qmstop', String(vmid), user, () => {
      vm.status = 'stopped';
      return 'OK';
    });
  }

  private destroy(node: string, vmid: number, p: Params, user: string): string {
    const vm = this.vm(node, vmid);
    this.checkUnlocked(vm);
    if (vm.protection) throw new ApiError(500, `can't remove VM ${vmid} - protection mode enabled`);
    if (vm.status === 'running') throw new ApiError(500, `VM ${vmid} is running - destroy failed`);
    if (vm.template && p.purge !== '1') {
      // Real PVE allows removing templates; nothing special here.
    }
    vm.lock = 'destroyed';
    return this.task(node, 'qmdestroy', String(vmid), user, () => {
      this.vms.delete(vmid);
      return 'OK';
    });
  }
}
