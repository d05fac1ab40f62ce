/**
 * The Proxmox API simulator follows the documented API where the provider depends on it:
 * token auth, asynchronous tasks with UPIDs, config locks, "already exists" on a stale
 * VMID, protection=1 and running VMs refusing deletion. Driven through the real client.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VmProviderError } from '../../activities/vm/provider.js';
import { ProxmoxVmProvider } from '../../activities/vm/proxmox.js';
import { ProxmoxApiError, ProxmoxClient } from '../../activities/vm/proxmox-client.js';
import { VM_OWNER_TAG } from '../../core/labels.js';
import { ProxmoxSimulator } from '../../sandbox/proxmox-sim/simulator.js';
import { smallSpec } from './vm-harness.js';

let sim: ProxmoxSimulator;
let api: ProxmoxClient;
let url: string;

beforeAll(async () => {
  sim = new ProxmoxSimulator({ taskMs: 100 });
  sim.addVm({ vmid: 9000, name: 'tpl', template: true });
  url = await sim.listen();
  api = new ProxmoxClient({
    apiUrl: url,
    token: 'root@pam!burst=sim-secret',
    verifyTls: true,
    requestTimeoutMs: 2000,
  });
});
afterAll(async () => {
  api.close();
  await sim.close();
});

async function apiError(p: Promise<unknown>): Promise<ProxmoxApiError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(ProxmoxApiError);
  return err as ProxmoxApiError;
}

describe('Proxmox API simulator', () => {
  it('refuses a bad token with 401', async () => {
    const bad = new ProxmoxClient({
      apiUrl: url,
      token: 'root@pam!burst=nope',
      verifyTls: true,
      requestTimeoutMs: 2000,
    });
    const err = await apiError(bad.call('GET', '/version'));
    expect(err.status).toBe(401);
    expect(err.retryable).toBe(false);
    bad.close();
  });

  it('clones asynchronously: a UPID, a locked VM while the task runs, then OK', async () => {
    sim.taskMs = 3_600_000; // tasks finish only when the test says so
    const upid = await api.call<string>('POST', '/nodes/pve/qemu/9000/clone', {
      newid: 200,
      name: 'c1',
      full: 1,
    });
    expect(upid).toMatch(/^UPID:pve:[0-9A-F]{8}:[0-9A-F]{8}:[0-9A-F]{8}:qmclone:9000:root@pam!burst:$/);
    const locked = await apiError(api.call('POST', '/nodes/pve/qemu/200/config', { cores: 2 }));
    expect(locked.locked).toBe(true);
    expect(locked.retryable).toBe(true);
    const running = await api.call<{ status: string }>(
      'GET',
      `/nodes/pve/tasks/${encodeURIComponent(upid)}/status`,
    );
    expect(running.status).toBe('running');
    sim.completeTasks();
    sim.taskMs = 100;
    await api.waitTask(upid, 5000, 10);
    await api.waitTask(await api.call<string>('POST', '/nodes/pve/qemu/200/config', { cores: 2 }), 5000, 10);
  });

  it('fails a clone into a VMID taken since /cluster/nextid with "already exists"', async () => {
    const id = Number(await api.call<string>('GET', '/cluster/nextid'));
    sim.addVm({ vmid: id, name: 'raced' });
    const err = await apiError(api.call('POST', '/nodes/pve/qemu/9000/clone', { newid: id, name: 'c2' }));
    expect(err.alreadyExists).toBe(true);
    expect((await apiError(api.call('GET', '/cluster/nextid', { vmid: id }))).alreadyExists).toBe(true);
  });

  it('refuses to delete a running VM and a protected VM; a missing VM "does not exist"', async () => {
    sim.addVm({ vmid: 300, name: 'runs', status: 'running' });
    expect((await apiError(api.call('DELETE', '/nodes/pve/qemu/300', { purge: 1 }))).message).toMatch(
      /running/,
    );
    sim.addVm({ vmid: 301, name: 'protected', protection: true });
    const prot = await apiError(api.call('DELETE', '/nodes/pve/qemu/301', { purge: 1 }));
    expect(prot.message).toMatch(/protection/);
    expect(prot.retryable).toBe(false);
    expect((await apiError(api.call('DELETE', '/nodes/pve/qemu/399', { purge: 1 }))).notFound).toBe(true);
  });

  it('lists VMs with tags in /cluster/resources', async () => {
    sim.addVm({ vmid: 302, name: 'tagged', config: { tags: 'a;b' } });
    const list = await api.call<{ vmid: number; tags?: string; type: string }[]>(
      'GET',
      '/cluster/resources',
      { type: 'vm' },
    );
    expect(list.find((r) => r.vmid === 302)).toMatchObject({ type: 'qemu', tags: 'a;b' });
  });
});

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

describe.skipIf(!hasOpenssl)('Proxmox client TLS', () => {
  it('verifies the certificate by default, trusts a configured CA, and can be told not to verify', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'pve-tls-'));
    const gen = spawnSync('openssl', [
      'req',
      '-x509',
      '-newkey',
      'rsa:2048',
      '-nodes',
      '-days',
      '1',
      '-subj',
      '/CN=127.0.0.1',
      '-addext',
      'subjectAltName=IP:127.0.0.1',
      '-keyout',
      join(dir, 'key.pem'),
      '-out',
      join(dir, 'cert.pem'),
    ]);
    expect(gen.status).toBe(0);
    const key = readFileSync(join(dir, 'key.pem'), 'utf8');
    const cert = readFileSync(join(dir, 'cert.pem'), 'utf8');
    const tlsSim = new ProxmoxSimulator();
    const httpsUrl = await tlsSim.listen(0, '127.0.0.1', { key, cert });
    const base = { apiUrl: httpsUrl, token: 'root@pam!burst=sim-secret', requestTimeoutMs: 2000 };
    const clients = [
      new ProxmoxClient({ ...base, verifyTls: true }),
      new ProxmoxClient({ ...base, verifyTls: true, ca: cert }),
      new ProxmoxClient({ ...base, verifyTls: false }),
    ];
    try {
      const untrusted = await apiError(clients[0]!.call('GET', '/version'));
      expect(untrusted.retryable).toBe(false);
      expect(untrusted.toProviderError('version').retryable).toBe(false);
      await expect(clients[1]!.call('GET', '/version')).resolves.toMatchObject({ release: '8.2' });
      await expect(clients[2]!.call('GET', '/version')).resolves.toMatchObject({ release: '8.2' });
    } finally {
      for (const c of clients) c.close();
      await tlsSim.close();
    }
  });
});

describe('Proxmox provider on the simulator', () => {
  it('stops a running VM, then deletes it with purge; refuses a protected one (non-retryable)', async () => {
    const provider = new ProxmoxVmProvider({
      apiUrl: url,
      token: 'root@pam!burst=sim-secret',
      verifyTls: true,
      requestTimeoutMs: 2000,
      node: 'pve',
      templateId: 9000,
      storage: '',
      pool: '',
      vmidMin: 5000,
      vmidMax: 5999,
      cicustom: 'user=local:snippets/w.yaml',
      ipconfig0: 'ip=dhcp',
      disk: 'scsi0',
      fullClone: true,
      taskTimeoutMs: 5000,
      taskPollMs: 10,
    });
    try {
      const vm = await provider.createVm(smallSpec('px-run'));
      const config = sim.vms.get(Number(vm.id))?.config;
      expect(config).toMatchObject({
        cores: 2,
        memory: 4096,
        tags: VM_OWNER_TAG,
        cicustom: 'user=local:snippets/w.yaml',
      });
      expect(String(config?.scsi0)).toContain('size=50G');
      await provider.startVm(vm.id);
      sim.requests.length = 0;
      await provider.deleteVm(vm.id);
      expect(sim.requests.filter((r) => !r.startsWith('GET'))).toEqual([
        `POST /nodes/pve/qemu/${vm.id}/status/stop`,
        `DELETE /nodes/pve/qemu/${vm.id}?purge=1&destroy-unreferenced-disks=1`,
      ]);
      expect(await provider.getVm(vm.id)).toBeNull();

      const prot = await provider.createVm(smallSpec('px-protected'));
      const simVm = sim.vms.get(Number(prot.id));
      if (simVm) simVm.protection = true;
      const err = await provider.deleteVm(prot.id).then(
        () => null,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(VmProviderError);
      expect((err as VmProviderError).retryable).toBe(false);
      expect(sim.vms.has(Number(prot.id))).toBe(true);
    } finally {
      await provider.close();
    }
  });
});
