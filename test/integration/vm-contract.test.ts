/**
 * The VmProvider contract, run against every provider: sandbox (real cluster), proxmox
 * (against the Proxmox API simulator) and mcp (against the MCP fixture, over stdio and
 * over Streamable HTTP).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VmProviderError } from '../../activities/vm/provider.js';
import { VM_OWNER_TAG } from '../../core/labels.js';
import { kubeConfig, uniqueName } from '../support/stack.js';
import { type Harness, mcpHarness, proxmoxHarness, sandboxHarness, smallSpec } from './vm-harness.js';
import { withVmRetry } from './vm-retry.js';

const providers: [string, () => Promise<Harness>][] = [
  ['sandbox', () => sandboxHarness(kubeConfig(), uniqueName('vm-contract'))],
  ['proxmox (simulator)', () => proxmoxHarness()],
  ['mcp over stdio (fixture)', () => mcpHarness('stdio')],
  ['mcp over HTTP (fixture)', () => mcpHarness('http')],
];

async function expectProviderError(p: Promise<unknown>, retryable: boolean): Promise<VmProviderError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(VmProviderError);
  expect((err as VmProviderError).retryable).toBe(retryable);
  expect((err as VmProviderError).code).toBe(retryable ? 'ProviderTransient' : 'ProviderFatal');
  return err as VmProviderError;
}

const countOf = (names: string[], name: string) => names.filter((n) => n === name).length;

describe.each(providers)('VmProvider contract: %s', (_label, makeHarness) => {
  let h: Harness;

  beforeAll(async () => {
    h = await makeHarness();
  });
  afterAll(async () => {
    await h?.close();
  });

  it('creates, finds, starts and deletes a VM carrying the ownership tag', async () => {
    const name = uniqueName('vm-basic');
    const vm = await h.provider.createVm({ ...smallSpec(name), tags: { purpose: 'contract' } });
    expect(vm.name).toBe(name);
    expect(vm.tags[VM_OWNER_TAG]).toBeDefined();
    expect(vm.providerId).toMatch(/^(sandbox|proxmox):\/\//);
    expect(await h.provider.getVm(vm.id)).toMatchObject({ id: vm.id, name });
    expect((await h.provider.findVmByName(name))?.id).toBe(vm.id);
    const again = await h.provider.createVm(smallSpec(name));
    expect(again.id).toBe(vm.id);
    const started = await h.provider.startVm(vm.id);
    expect(started.state).toBe('running');
    expect((await h.provider.startVm(vm.id)).state).toBe('running');
    expect((await h.provider.listOwnedVms()).map((v) => v.id)).toContain(vm.id);
    await h.provider.deleteVm(vm.id);
    expect(await h.provider.getVm(vm.id)).toBeNull();
    expect(await h.provider.findVmByName(name)).toBeNull();
    expect(countOf(await h.allVmNames(), name)).toBe(0);
  });

  it('a create retried after a timeout returns the VM the first attempt made', async () => {
    const name = uniqueName('vm-lost');
    const lossy = await h.lossyCreate();
    // The first attempt's answer is lost after the VM was made. A provider may notice and
    // adopt the VM within the same call (proxmox); otherwise the call fails as retryable.
    const first = await lossy.createVm(smallSpec(name)).then(
      () => null,
      (e: unknown) => e,
    );
    if (h.lossAdoptedInCall) {
      expect(first).toBeNull();
      expect(h.lossAdoptedInCall()).toBe(true);
    } else {
      expect(first).toBeInstanceOf(VmProviderError);
      expect((first as VmProviderError).retryable).toBe(true);
    }
    expect(countOf(await h.allVmNames(), name)).toBe(1);
    const vm = await withVmRetry(() => lossy.createVm(smallSpec(name)));
    expect(vm.name).toBe(name);
    expect(vm.tags[VM_OWNER_TAG]).toBeDefined();
    expect(countOf(await h.allVmNames(), name)).toBe(1);
    expect((await h.provider.createVm(smallSpec(name))).id).toBe(vm.id);
    await h.provider.deleteVm(vm.id);
    expect(countOf(await h.allVmNames(), name)).toBe(0);
  });

  it('deleting a missing VM succeeds', async () => {
    const name = uniqueName('vm-gone');
    const vm = await h.provider.createVm(smallSpec(name));
    await h.provider.deleteVm(vm.id);
    await h.provider.deleteVm(vm.id);
    await h.provider.deleteVm(h.provider.type === 'sandbox' ? 'sb-000000000000' : '1998');
  });

  it('never lists, adopts, starts or deletes a foreign VM (no ownership tag)', async () => {
    const name = uniqueName('foreign');
    const id = await h.addForeignVm(name);
    expect((await h.provider.listOwnedVms()).map((v) => v.name)).not.toContain(name);
    expect(await h.provider.findVmByName(name)).toBeNull();
    const seen = await h.provider.getVm(id);
    expect(seen?.tags[VM_OWNER_TAG]).toBeUndefined();
    await expectProviderError(h.provider.deleteVm(id), false);
    await expectProviderError(h.provider.startVm(id), false);
    await expectProviderError(h.provider.createVm(smallSpec(name)), false);
    expect(countOf(await h.allVmNames(), name)).toBe(1);
  });

  it('types its errors: non-retryable for what retrying cannot fix', async () => {
    await expectProviderError(
      h.provider.startVm(h.provider.type === 'sandbox' ? 'sb-00000000dead' : '1997'),
      false,
    );
    for (const [, run] of Object.entries(h.fatalCases)) await expectProviderError(run(), false);
    for (const [, run] of Object.entries(h.retryableCases)) await expectProviderError(run(), true);
  });

  it('types injected failures as retryable', async () => {
    const faulty = await h.faulty(0.9, 3);
    let err: unknown;
    for (let i = 0; i < 10 && !err; i++)
      err = await faulty.listOwnedVms().then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(err).toBeInstanceOf(VmProviderError);
    expect((err as VmProviderError).retryable).toBe(true);
  });

  it('under 20 % injected failures, 20 creates and deletes with the activity retry policy leak nothing', async () => {
    const prefix = uniqueName('vm-chaos');
    const names = Array.from({ length: 20 }, (_, i) => `${prefix}-${i}`);
    const faulty = await h.faulty(0.2, 42);
    let retries = 0;
    const onRetry = () => {
      retries++;
    };
    const ids = new Map<string, string>();
    // Five at a time, as a provisioning request of a few workers would run them.
    for (let i = 0; i < names.length; i += 5) {
      await Promise.all(
        names.slice(i, i + 5).map(async (name) => {
          const vm = await withVmRetry(() => faulty.createVm(smallSpec(name)), { onRetry });
          await withVmRetry(() => faulty.startVm(vm.id), { onRetry });
          ids.set(name, vm.id);
        }),
      );
    }
    expect(retries).toBeGreaterThan(0);
    const afterCreate = await h.allVmNames();
    for (const name of names) expect(countOf(afterCreate, name)).toBe(1);
    const owned = await withVmRetry(() => h.provider.listOwnedVms());
    expect(
      owned
        .filter((v) => v.name.startsWith(`${prefix}-`))
        .map((v) => v.name)
        .sort(),
    ).toEqual([...names].sort());
    expect(new Set(ids.values()).size).toBe(20);

    for (let i = 0; i < names.length; i += 5) {
      await Promise.all(
        names
          .slice(i, i + 5)
          .map((name) => withVmRetry(() => faulty.deleteVm(ids.get(name) ?? ''), { onRetry })),
      );
    }
    const afterDelete = await h.allVmNames();
    expect(afterDelete.filter((n) => n.startsWith(`${prefix}-`))).toEqual([]);
    const ownedAfter = await withVmRetry(() => h.provider.listOwnedVms());
    expect(ownedAfter.filter((v) => v.name.startsWith(`${prefix}-`))).toEqual([]);
  });
});
