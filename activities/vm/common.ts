/** Helpers shared by the VM provider implementations. */
import { VM_OWNER_TAG } from '../../core/labels.js';
import { type Vm, VmProviderError, type VmSpec } from './provider.js';

/** The value of the ownership tag on every VM this system creates. */
export const OWNER_TAG_VALUE = 'true';

export function isOwned(vm: { tags: Record<string, string> }): boolean {
  return Object.hasOwn(vm.tags, VM_OWNER_TAG);
}

/** Tags recorded on a new VM: the caller's tags plus the ownership tag (which wins). */
export function tagsFor(spec: VmSpec): Record<string, string> {
  return { ...(spec.tags ?? {}), [VM_OWNER_TAG]: OWNER_TAG_VALUE };
}

export function transient(message: string, details?: Record<string, unknown>): VmProviderError {
  return new VmProviderError(message, { retryable: true, ...(details ? { details } : {}) });
}

export function fatal(message: string, details?: Record<string, unknown>): VmProviderError {
  return new VmProviderError(message, { retryable: false, ...(details ? { details } : {}) });
}

/** A VM of the same name that this system does not own: never adopted, never touched. */
export function foreignNameConflict(name: string, id: string): VmProviderError {
  return fatal(
    `a VM named "${name}" (id ${id}) exists but does not carry the ownership tag ${VM_OWNER_TAG}`,
    {
      name,
      id,
    },
  );
}

export function notOwned(vm: Vm): VmProviderError {
  return fatal(
    `VM ${vm.id} ("${vm.name}") does not carry the ownership tag ${VM_OWNER_TAG}; refusing to touch it`,
    {
      id: vm.id,
      name: vm.name,
    },
  );
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        resolve();
      },
      { once: true },
    );
  });
}
