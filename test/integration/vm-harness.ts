/**
 * One harness per VM provider for the contract suite (vm-contract.test.ts): a clean
 * provider, a provider with injected failures, a provider whose first create is applied
 * and then lost (a timeout after success), a way to add a foreign VM (no ownership tag)
 * and the ground truth of the backend (every VM, owned or not).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import { seededRandom } from '../../activities/vm/faults.js';
import {
  DEFAULT_PROXMOX_MCP_TOOLS,
  type McpProviderOptions,
  McpVmProvider,
} from '../../activities/vm/mcp.js';
import type { VmProvider } from '../../activities/vm/provider.js';
import { type ProxmoxProviderOptions, ProxmoxVmProvider } from '../../activities/vm/proxmox.js';
import { SandboxVmProvider } from '../../activities/vm/sandbox.js';
import { listRecords, sandboxVmConfigMap } from '../../activities/vm/sandbox-state.js';
import { ProxmoxSimulator } from '../../sandbox/proxmox-sim/simulator.js';
import type { FixtureVm } from '../fixtures/mcp-vm-server/server.js';
import { withVmRetry } from './vm-retry.js';

export interface Harness {
  provider: VmProvider;
  /** A provider whose next createVm is applied and then reported as a timeout. */
  lossyCreate(): Promise<VmProvider>;
  /** Set when the provider adopts the VM within the call whose clone answer was lost; tells whether the loss happened. */
  lossAdoptedInCall?: () => boolean;
  /** A provider under `rate` injected failures (errors before and lost answers after the action). */
  faulty(rate: number, seed: number): Promise<VmProvider>;
  /** A VM without the ownership tag, made by someone else. Returns its id. */
  addForeignVm(name: string): Promise<string>;
  /** Every VM of the backend (owned or not), by name. */
  allVmNames(): Promise<string[]>;
  /** Provider-specific non-retryable failures (bad credentials, missing template). */
  fatalCases: Record<string, () => Promise<unknown>>;
  /** Provider-specific retryable failures (locks). */
  retryableCases: Record<string, () => Promise<unknown>>;
  close(): Promise<void>;
}

const SPEC_SIZE = { cpu: 2, memory_gb: 4, disk_gb: 50 };
export const smallSpec = (name: string) => ({
  name,
  sizeName: 'small',
  size: SPEC_SIZE,
  userData: '#cloud-config\n',
});

const fast = {
  node: 'pve',
  templateId: 9000,
  vmidMin: 1000,
  vmidMax: 1999,
  cicustom: 'user=local:snippets/burst-worker.yaml',
  ipconfig0: 'ip=dhcp',
  disk: 'scsi0',
  fullClone: true,
  taskTimeoutMs: 10_000,
  taskPollMs: 10,
};

export async function proxmoxHarness(): Promise<Harness> {
  const sim = new ProxmoxSimulator({ taskMs: 20, seed: 7 });
  sim.addVm({ vmid: 9000, name: 'talos-template', template: true });
  const apiUrl = await sim.listen();
  const opts: ProxmoxProviderOptions = {
    ...fast,
    apiUrl,
    token: 'root@pam!burst=sim-secret',
    verifyTls: true,
    requestTimeoutMs: 2000,
    storage: 'local-lvm',
    pool: '',
  };
  const made: VmProvider[] = [];
  const make = (o: Partial<ProxmoxProviderOptions> = {}) => {
    const p = new ProxmoxVmProvider({ ...opts, ...o });
    made.push(p);
    return p;
  };
  return {
    provider: make(),
    async lossyCreate() {
      sim.dropOnce.push(/^POST \/nodes\/pve\/qemu\/9000\/clone$/);
      return make();
    },
    lossAdoptedInCall: () => sim.dropOnce.length === 0,
    async faulty(rate) {
      // The simulator is shared by every provider of this harness: faults stay on until close.
      sim.faults = { errorRate: rate * 0.75, dropRate: rate * 0.25, raceRate: 0.1, latencyMs: 0 };
      return make();
    },
    async addForeignVm(name) {
      let vmid = 1000;
      while (sim.vms.has(vmid)) vmid++;
      sim.addVm({ vmid, name, status: 'running' });
      return String(vmid);
    },
    async allVmNames() {
      return [...sim.vms.values()].filter((v) => !v.template).map((v) => v.name);
    },
    fatalCases: {
      'bad API token (401)': () => make({ token: 'root@pam!burst=wrong' }).listOwnedVms(),
      'missing template': () => make({ templateId: 9999 }).createVm(smallSpec('no-template-vm')),
      'VMID range exhausted (quota)': async () => {
        sim.addVm({ vmid: 1999, name: 'fills-range' });
        try {
          return await make({ vmidMin: 1999, vmidMax: 1999 }).createVm(smallSpec('no-room-vm'));
        } finally {
          sim.vms.delete(1999);
        }
      },
    },
    retryableCases: {
      'locked VM': async () => {
        const p = make();
        const vm = await p.createVm(smallSpec('locked-vm'));
        const simVm = sim.vms.get(Number(vm.id));
        if (simVm) simVm.lock = 'backup';
        try {
          return await p.startVm(vm.id);
        } finally {
          if (simVm) delete simVm.lock;
          await p.deleteVm(vm.id);
        }
      },
    },
    async close() {
      for (const p of made) await p.close();
      await sim.close();
    },
  };
}

function fixtureArgs(stateFile: string, extra: string[]): string[] {
  return [
    '--import',
    'tsx',
    'test/fixtures/mcp-vm-server/main.ts',
    '--state-file',
    stateFile,
    '--task-ms',
    '20',
    ...extra,
  ];
}

async function startHttpFixture(args: string[]): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout?.on('data', (c: Buffer) => {
      out += c.toString();
      const line = out.split('\n').find((l) => l.startsWith('http'));
      if (line) resolve(line.trim());
    });
    child.on('exit', (code) => reject(new Error(`MCP fixture exited with ${code}`)));
  });
  return { url, child };
}

export async function mcpHarness(transport: 'stdio' | 'http'): Promise<Harness> {
  const dir = mkdtempSync(join(tmpdir(), 'mcp-vm-fixture-'));
  const stateFile = join(dir, 'vms.json');
  const children: ChildProcess[] = [];
  const made: VmProvider[] = [];
  const token = 'fixture-token';
  const make = async (extra: string[], o: Partial<McpProviderOptions> = {}): Promise<VmProvider> => {
    let endpoint: string;
    if (transport === 'stdio') {
      endpoint = `stdio://${process.execPath} ${fixtureArgs(stateFile, ['--stdio', ...extra]).join(' ')}`;
    } else {
      const { url, child } = await startHttpFixture(
        fixtureArgs(stateFile, ['--http', '--token', token, ...extra]),
      );
      children.push(child);
      endpoint = url;
    }
    const p = new McpVmProvider({
      ...fast,
      endpoint,
      tools: DEFAULT_PROXMOX_MCP_TOOLS,
      token,
      // Starting the fixture (tsx) on a loaded machine can take several seconds.
      requestTimeoutMs: 30_000,
      ...o,
    });
    made.push(p);
    return p;
  };
  const readState = (): FixtureVm[] => {
    try {
      return (JSON.parse(readFileSync(stateFile, 'utf8')) as { vms: FixtureVm[] }).vms;
    } catch {
      return [];
    }
  };
  const provider = await make([]);
  // Starts the server, which writes the template into the state file.
  await withVmRetry(() => provider.listOwnedVms());
  return {
    provider,
    lossyCreate: () => make(['--lose-once', 'proxmox_clone_vm']),
    lossAdoptedInCall: () => {
      const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as { lost?: string[] };
      return (saved.lost ?? []).includes('proxmox_clone_vm');
    },
    faulty: (rate, seed) =>
      make(['--error-rate', String(rate * 0.75), '--lost-rate', String(rate * 0.25), '--seed', String(seed)]),
    async addForeignVm(name) {
      const vms = readState();
      let vmid = 1000;
      while (vms.some((v) => v.vmid === vmid)) vmid++;
      vms.push({
        vmid,
        node: 'pve',
        name,
        status: 'running',
        template: false,
        protection: false,
        tags: '',
        description: '',
        cores: 1,
        memory: 1024,
        disk_gb: 10,
        ctime: Math.floor(Date.now() / 1000),
      });
      const saved = JSON.parse(readFileSync(stateFile, 'utf8')) as { lost?: string[] };
      writeFileSync(stateFile, JSON.stringify({ vms, lost: saved.lost ?? [] }));
      return String(vmid);
    },
    async allVmNames() {
      return readState()
        .filter((v) => !v.template)
        .map((v) => v.name);
    },
    fatalCases: {
      'unmapped operation': async () =>
        (await make([], { tools: { ...DEFAULT_PROXMOX_MCP_TOOLS, list: '' } })).listOwnedVms(),
      'missing template': async () =>
        (await make([], { templateId: 9999 })).createVm(smallSpec('no-template-vm')),
      ...(transport === 'http'
        ? { 'bad bearer token (401)': async () => (await make([], { token: 'wrong' })).listOwnedVms() }
        : {}),
    },
    retryableCases: {},
    async close() {
      for (const p of made) await p.close();
      for (const c of children) c.kill('SIGTERM');
    },
  };
}

export async function sandboxHarness(kc: KubeConfig, namespace: string): Promise<Harness> {
  const core = kc.makeApiClient(CoreV1Api);
  const made: VmProvider[] = [];
  const make = (o: Partial<ConstructorParameters<typeof SandboxVmProvider>[1]> = {}) => {
    const p = new SandboxVmProvider(kc, {
      namespace,
      faults: { errorRate: 0, neverJoinRate: 0 },
      random: seededRandom(1),
      ...o,
    });
    made.push(p);
    return p;
  };
  const provider = make();
  await provider.listOwnedVms(); // creates the namespace
  return {
    provider,
    lossyCreate: async () => make({ loseNext: ['createVm'] }),
    faulty: async (rate, seed) =>
      make({ faults: { errorRate: rate, neverJoinRate: 0 }, random: seededRandom(seed) }),
    async addForeignVm(name) {
      const id = `foreign-${name}`;
      await core.createNamespacedConfigMap({
        namespace,
        body: sandboxVmConfigMap(namespace, {
          id,
          name,
          sizeName: 'small',
          cpu: 1,
          memoryGb: 1,
          diskGb: 10,
          state: 'running',
          createdAt: new Date().toISOString(),
          tags: { owner: 'someone-else' },
          userData: '',
          neverJoin: true,
        }),
      });
      return id;
    },
    async allVmNames() {
      return (await listRecords(core, namespace)).map(({ vm }) => vm.name);
    },
    fatalCases: {},
    retryableCases: {},
    async close() {
      for (const p of made) await p.close();
      await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    },
  };
}
