/**
 * Runs the Proxmox VE API simulator for a developer:
 *   node --import tsx sandbox/proxmox-sim/main.ts [--port 8006] [--error-rate 0.2] [--drop-rate 0.1]
 *     [--race-rate 0.1] [--latency-ms 50] [--task-ms 500] [--seed 1]
 * Prints the API URL, the template VMID and the environment line for the token.
 */
import { parseArgs } from 'node:util';
import { ProxmoxSimulator } from './simulator.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '8006' },
    'error-rate': { type: 'string', default: '0' },
    'drop-rate': { type: 'string', default: '0' },
    'race-rate': { type: 'string', default: '0' },
    'latency-ms': { type: 'string', default: '0' },
    'task-ms': { type: 'string', default: '500' },
    seed: { type: 'string', default: '0' },
    token: { type: 'string', default: 'root@pam!burst=sim-secret' },
  },
});

const [tokenId, secret] = values.token.split('=') as [string, string];
const sim = new ProxmoxSimulator({
  tokens: { [tokenId]: secret },
  taskMs: Number(values['task-ms']),
  seed: Number(values.seed),
  nextIdLower: 100,
  faults: {
    errorRate: Number(values['error-rate']),
    dropRate: Number(values['drop-rate']),
    raceRate: Number(values['race-rate']),
    latencyMs: Number(values['latency-ms']),
  },
});
sim.addVm({ vmid: 9000, name: 'talos-template', template: true });
const url = await sim.listen(Number(values.port));
process.stdout.write(
  `Proxmox VE simulator at ${url}\n` +
    `  node: pve, template VMID: 9000\n` +
    `  provider.proxmox: { api_url: ${url}, node: pve, template_id: 9000 }\n` +
    `  export PROXMOX_API_TOKEN='${values.token}'\n`,
);
const stop = () => {
  void sim.close().then(() => process.exit(0));
};
process.on('SIGINT', stop);
process.on('SIGTERM', stop);
