/**
 * The `sandbox` VM provider: simulated VMs kept in the sandbox cluster (one ConfigMap per
 * VM, see sandbox-state.ts). Booting, i.e. registering the VM's Node, is done by the
 * sandbox hypervisor (sandbox-hypervisor.ts), as a real VM's kubelet would.
 */
import { randomBytes } from 'node:crypto';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { fatal, foreignNameConflict, isOwned, notOwned, tagsFor, transient } from './common.js';
import { chance, type Random } from './faults.js';
import type { Vm, VmProvider, VmSpec } from './provider.js';
import { VmProviderError } from './provider.js';
import {
  configMapName,
  ensureNamespace,
  kubeError,
  listRecords,
  recordOf,
  SANDBOX_VM_ID_LABEL,
  SANDBOX_VM_KEY,
  type SandboxVmRecord,
  sandboxProviderId,
  sandboxVmConfigMap,
  statusOf,
} from './sandbox-state.js';

export type SandboxOperation =
  | 'createVm'
  | 'getVm'
  | 'findVmByName'
  | 'startVm'
  | 'deleteVm'
  | 'listOwnedVms';

export interface SandboxProviderOptions {
  namespace: string;
  faults: { errorRate: number; neverJoinRate: number };
  random: Random;
  /** Test hook: the next call of each listed operation is applied, then reported as a timeout. */
  loseNext?: SandboxOperation[];
}

export class SandboxVmProvider implements VmProvider {
  readonly type = 'sandbox' as const;
  private readonly core: CoreV1Api;
  private namespaceReady = false;
  private readonly loseNext: Set<SandboxOperation>;

  constructor(
    kc: KubeConfig,
    private readonly opts: SandboxProviderOptions,
  ) {
    this.core = kc.makeApiClient(CoreV1Api);
    this.loseNext = new Set(opts.loseNext ?? []);
  }

  /** Injected failure before the call does anything. */
  private maybeFail(op: SandboxOperation): void {
    if (chance(this.opts.random, this.opts.faults.errorRate)) {
      throw transient(`sandbox ${op}: simulated failure (fault.error_rate)`);
    }
  }

  /** Injected "timeout after success": the call was applied, its answer is lost. */
  private maybeLose(op: SandboxOperation): void {
    if (this.loseNext.delete(op))
      throw transient(`sandbox ${op}: simulated timeout after the call was applied`);
  }

  private async run<T>(op: SandboxOperation, context: string, fn: () => Promise<T>): Promise<T> {
    this.maybeFail(op);
    let result: T;
    try {
      if (!this.namespaceReady) {
        await ensureNamespace(this.core, this.opts.namespace);
        this.namespaceReady = true;
      }
      result = await fn();
    } catch (err) {
      if (err instanceof VmProviderError) throw err;
      throw kubeError(context, err);
    }
    this.maybeLose(op);
    return result;
  }

  private toVm(r: SandboxVmRecord): Vm {
    return {
      id: r.id,
      name: r.name,
      state: r.state,
      createdAt: r.createdAt,
      providerId: sandboxProviderId(this.opts.namespace, r.id),
      tags: r.tags,
    };
  }

  private async byId(
    id: string,
  ): Promise<{ record: SandboxVmRecord; uid: string; resourceVersion: string; name: string } | null> {
    if (!/^[a-z0-9-]{1,63}$/.test(id)) return null;
    const found = await listRecords(this.core, this.opts.namespace, `${SANDBOX_VM_ID_LABEL}=${id}`);
    const first = found[0];
    if (!first) return null;
    return {
      record: first.vm,
      uid: first.cm.metadata?.uid ?? '',
      resourceVersion: first.cm.metadata?.resourceVersion ?? '',
      name: first.cm.metadata?.name ?? '',
    };
  }

  createVm(spec: VmSpec): Promise<Vm> {
    return this.run('createVm', `create VM ${spec.name}`, async () => {
      const record: SandboxVmRecord = {
        id: `sb-${randomBytes(6).toString('hex')}`,
        name: spec.name,
        sizeName: spec.sizeName,
        cpu: spec.size.cpu,
        memoryGb: spec.size.memory_gb,
        diskGb: spec.size.disk_gb,
        state: 'stopped',
        createdAt: new Date().toISOString(),
        tags: tagsFor(spec),
        userData: spec.userData,
        neverJoin: chance(this.opts.random, this.opts.faults.neverJoinRate),
      };
      try {
        await this.core.createNamespacedConfigMap({
          namespace: this.opts.namespace,
          body: sandboxVmConfigMap(this.opts.namespace, record),
        });
        return this.toVm(record);
      } catch (err) {
        if (statusOf(err) !== 409) throw err;
      }
      // The name is taken: the VM a previous attempt (or a concurrent caller) made, or a foreign one.
      const cm = await this.core.readNamespacedConfigMap({
        name: configMapName(spec.name),
        namespace: this.opts.namespace,
      });
      const existing = recordOf(cm);
      if (!existing || !isOwned(existing)) throw foreignNameConflict(spec.name, existing?.id ?? '?');
      return this.toVm(existing);
    });
  }

  getVm(id: string): Promise<Vm | null> {
    return this.run('getVm', `get VM ${id}`, async () => {
      const found = await this.byId(id);
      return found ? this.toVm(found.record) : null;
    });
  }

  findVmByName(name: string): Promise<Vm | null> {
    return this.run('findVmByName', `find VM ${name}`, async () => {
      try {
        const cm = await this.core.readNamespacedConfigMap({
          name: configMapName(name),
          namespace: this.opts.namespace,
        });
        const r = recordOf(cm);
        return r && isOwned(r) && r.name === name ? this.toVm(r) : null;
      } catch (err) {
        if (statusOf(err) === 404) return null;
        throw err;
      }
    });
  }

  startVm(id: string): Promise<Vm> {
    return this.run('startVm', `start VM ${id}`, async () => {
      const found = await this.byId(id);
      if (!found) throw fatal(`sandbox VM ${id} does not exist`);
      const vm = this.toVm(found.record);
      if (!isOwned(vm)) throw notOwned(vm);
      if (found.record.state === 'running') return vm;
      const record: SandboxVmRecord = {
        ...found.record,
        state: 'running',
        startedAt: new Date().toISOString(),
      };
      // resourceVersion makes this a compare-and-swap: a concurrent change fails with 409 (retryable).
      await this.core.replaceNamespacedConfigMap({
        name: found.name,
        namespace: this.opts.namespace,
        body: {
          ...sandboxVmConfigMap(this.opts.namespace, record),
          metadata: {
            ...sandboxVmConfigMap(this.opts.namespace, record).metadata,
            resourceVersion: found.resourceVersion,
          },
          data: { [SANDBOX_VM_KEY]: JSON.stringify(record) },
        },
      });
      return this.toVm(record);
    });
  }

  deleteVm(id: string): Promise<void> {
    return this.run('deleteVm', `delete VM ${id}`, async () => {
      const found = await this.byId(id);
      if (!found) return;
      const vm = this.toVm(found.record);
      if (!isOwned(vm)) throw notOwned(vm);
      try {
        await this.core.deleteNamespacedConfigMap({
          name: found.name,
          namespace: this.opts.namespace,
          body: { preconditions: { uid: found.uid } },
        });
      } catch (err) {
        if (statusOf(err) !== 404) throw err;
      }
    });
  }

  listOwnedVms(): Promise<Vm[]> {
    return this.run('listOwnedVms', 'list VMs', async () => {
      const all = await listRecords(this.core, this.opts.namespace);
      return all.map(({ vm }) => this.toVm(vm)).filter(isOwned);
    });
  }

  async close(): Promise<void> {}
}
