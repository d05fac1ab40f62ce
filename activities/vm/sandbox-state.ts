/**
 * Where the sandbox provider keeps its simulated VMs: one ConfigMap per VM in a namespace
 * of the sandbox cluster. A ConfigMap named after the VM is created atomically, so a
 * retried or concurrent create agrees on one VM, and the state survives worker restarts.
 */
import type { CoreV1Api, V1ConfigMap } from '@kubernetes/client-node';
import { fatal, transient } from './common.js';
import type { VmProviderError, VmState } from './provider.js';

export const SANDBOX_VM_LABEL = 'sandbox.burst-workers.io/vm';
export const SANDBOX_VM_ID_LABEL = 'sandbox.burst-workers.io/vm-id';
export const SANDBOX_VM_KEY = 'vm.json';

export interface SandboxVmRecord {
  id: string;
  name: string;
  sizeName: string;
  cpu: number;
  memoryGb: number;
  diskGb: number;
  state: VmState;
  createdAt: string;
  startedAt?: string;
  tags: Record<string, string>;
  userData: string;
  /** Fault injection: this VM boots but its node never registers. */
  neverJoin: boolean;
}

export function configMapName(vmName: string): string {
  return `vm-${vmName}`;
}

/** The providerID a sandbox VM's node registers with. The namespace keeps sandboxes apart. */
export function sandboxProviderId(namespace: string, id: string): string {
  return `sandbox://${namespace}/${id}`;
}

export function sandboxVmConfigMap(namespace: string, vm: SandboxVmRecord): V1ConfigMap {
  return {
    metadata: {
      name: configMapName(vm.name),
      namespace,
      labels: { [SANDBOX_VM_LABEL]: 'true', [SANDBOX_VM_ID_LABEL]: vm.id },
    },
    data: { [SANDBOX_VM_KEY]: JSON.stringify(vm) },
  };
}

export function recordOf(cm: V1ConfigMap): SandboxVmRecord | null {
  const text = cm.data?.[SANDBOX_VM_KEY];
  if (!text) return null;
  try {
    return JSON.parse(text) as SandboxVmRecord;
  } catch {
    return null;
  }
}

export function statusOf(err: unknown): number | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** Kubernetes API errors → provider errors. */
export function kubeError(context: string, err: unknown): VmProviderError {
  const code = statusOf(err);
  const msg = err instanceof Error ? err.message.split('\n')[0] : String(err);
  if (code === 401 || code === 403 || code === 422 || code === 400) {
    return fatal(`sandbox ${context}: ${code} ${msg}`, { status: code });
  }
  return transient(`sandbox ${context}: ${code ?? 'no answer'} ${msg}`, code ? { status: code } : undefined);
}

export async function ensureNamespace(core: CoreV1Api, namespace: string): Promise<void> {
  try {
    await core.readNamespace({ name: namespace });
  } catch (err) {
    if (statusOf(err) !== 404) throw err;
    try {
      await core.createNamespace({ body: { metadata: { name: namespace } } });
    } catch (e) {
      if (statusOf(e) !== 409) throw e;
    }
  }
}

export async function listRecords(
  core: CoreV1Api,
  namespace: string,
  selector = SANDBOX_VM_LABEL,
): Promise<{ cm: V1ConfigMap; vm: SandboxVmRecord }[]> {
  const list = await core.listNamespacedConfigMap({ namespace, labelSelector: selector });
  return list.items.flatMap((cm) => {
    const vm = recordOf(cm);
    return vm ? [{ cm, vm }] : [];
  });
}
