/**
 * The VM provider contract. Every implementation (sandbox, proxmox, mcp) passes the
 * same contract test suite (test/integration/vm-contract.test.ts).
 */
import type { WorkerSize } from '../../core/config.js';
import { ErrorCode, WorkerError } from '../../core/errors.js';

export type ProviderType = 'sandbox' | 'proxmox' | 'mcp';

export interface VmSpec {
  /** Unique VM name; also the node name the VM registers as. createVm is idempotent on it. */
  name: string;
  /** Size template name (`small`, `medium`, …) and its resources. */
  sizeName: string;
  size: WorkerSize;
  /** Join payload handed to the VM at boot (Talos machine config, cloud-init user data). */
  userData: string;
  /** Extra key=value tags recorded on the VM, in addition to the ownership tag. */
  tags?: Record<string, string>;
}

export type VmState = 'provisioning' | 'stopped' | 'running' | 'unknown';

export interface Vm {
  /** Provider-scoped id (sandbox id, Proxmox VMID, …). Stable for the VM's whole life. */
  id: string;
  name: string;
  state: VmState;
  /** RFC 3339. */
  createdAt: string;
  /** The providerID the VM's node registers with (`sandbox://…`, `proxmox://…`). */
  providerId: string;
  /** Tags as recorded by the provider, ownership tag included. */
  tags: Record<string, string>;
}

export interface VmProvider {
  readonly type: ProviderType;
  /** Creates (or returns the existing) VM named spec.name; never makes a second one. */
  createVm(spec: VmSpec): Promise<Vm>;
  /** null when no such VM exists. */
  getVm(id: string): Promise<Vm | null>;
  /** Looks a VM up by name among the owned VMs; null when absent. */
  findVmByName(name: string): Promise<Vm | null>;
  /** Starts the VM; idempotent. */
  startVm(id: string): Promise<Vm>;
  /** Stops (when the platform needs it) and deletes the VM; a missing VM is success. */
  deleteVm(id: string): Promise<void>;
  /** Only VMs carrying this system's ownership tag. */
  listOwnedVms(): Promise<Vm[]>;
  /** Releases connections (MCP sessions, sockets). */
  close(): Promise<void>;
}

/** A provider failure; `retryable` tells the activity layer whether Temporal should retry it. */
export class VmProviderError extends WorkerError {
  readonly retryable: boolean;

  constructor(message: string, opts: { retryable: boolean; details?: Record<string, unknown> }) {
    super(opts.retryable ? ErrorCode.ProviderTransient : ErrorCode.ProviderFatal, message, opts.details);
    this.name = 'VmProviderError';
    this.retryable = opts.retryable;
  }
}
