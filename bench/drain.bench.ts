/**
 * Drain benchmark: this drain vs `kubectl drain --ignore-daemonsets --delete-emptydir-data`
 * on two identical nodes of the same cluster, each running 100 pods (10 Deployments of
 * 10 replicas, each under a PodDisruptionBudget with maxUnavailable 50%), plus a DaemonSet.
 * Both use a 5 s wait after a 429 (kubectl's CLI default, our config default) and the pods'
 * own grace period. Prints both times and the ratio.
 *
 *   node --import tsx bench/drain.bench.ts        (BENCH_KUBECONFIG=… to reuse a cluster)
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { drainNode, resolveDrainOptions } from '../activities/kubernetes/index.js';
import { defaultConfig } from '../core/config.js';
import {
  apps,
  clientsFromFile,
  containers,
  createDaemonSet,
  createNamespace,
  createNode,
  createPdb,
  deleteNamespace,
  deleteNodeQuietly,
  eventually,
  groupPlacement,
  mergePatchNode,
  podsOn,
} from '../test/support/kube-fixtures.js';
import { benchCluster, timed } from './support.js';

const DEPLOYMENTS = 10;
const REPLICAS = 10;
const run = promisify(execFile);

async function main(): Promise<void> {
  const cluster = await benchCluster();
  const k = clientsFromFile(cluster.kubeconfigPath);
  const config = defaultConfig();
  const g = `bench-drain-${Date.now().toString(36)}`;
  const ours = `${g}-ours`;
  const theirs = `${g}-kubectl`;
  const spares = [`${g}-spare-1`, `${g}-spare-2`, `${g}-spare-3`];
  const all = [ours, theirs, ...spares];
  const capacity = { cpu: '64', memory: '256Gi', pods: '250' };
  try {
    await createNamespace(k, g);
    for (const name of all)
      await createNode(k, { name, group: g, kwok: true, unschedulable: name !== ours, capacity });
    await createDaemonSet(k, g, 'agent', g);

    // The same workload on each drained node: place one set while only that node is schedulable.
    const place = async (node: string, set: string) => {
      for (let d = 0; d < DEPLOYMENTS; d++) {
        const app = `${set}-${d}`;
        await apps(k).createNamespacedDeployment({
          namespace: g,
          body: {
            metadata: { name: app },
            spec: {
              replicas: REPLICAS,
              selector: { matchLabels: { app } },
              template: {
                metadata: { labels: { app } },
                spec: { ...groupPlacement(g), containers: containers('1m', '1Mi') },
              },
            },
          },
        });
        await createPdb(k, g, `${app}-pdb`, app, { maxUnavailable: '50%' });
      }
      await eventually(
        async () => {
          const pods = await podsOn(k, node, g);
          return (
            pods.filter((p) => p.status?.phase === 'Running' && !p.metadata?.labels?.app?.startsWith('agent'))
              .length ===
            DEPLOYMENTS * REPLICAS
          );
        },
        300_000,
        `${DEPLOYMENTS * REPLICAS} pods running on ${node}`,
      );
    };
    await place(ours, 'a');
    await mergePatchNode(k, ours, { spec: { unschedulable: true } });
    await mergePatchNode(k, theirs, { spec: { unschedulable: null } });
    await place(theirs, 'b');
    for (const s of spares) await mergePatchNode(k, s, { spec: { unschedulable: null } });
    await mergePatchNode(k, ours, { spec: { unschedulable: null } });
    // PDBs computed before either drain starts.
    await eventually(
      async () => {
        const list = await k.policy.listNamespacedPodDisruptionBudget({ namespace: g });
        return list.items.every((p) => (p.status?.disruptionsAllowed ?? 0) === REPLICAS / 2);
      },
      120_000,
      'budgets settled',
    );

    const opts = resolveDrainOptions(config, {
      ignoreDaemonsets: true,
      deleteEmptydirData: true,
      gracePeriodSeconds: -1,
      timeoutSeconds: 600,
    });
    const mine = await timed(() => drainNode(k, config, ours, opts));
    if (!mine.value.completed || mine.value.evicted.length !== DEPLOYMENTS * REPLICAS) {
      throw new Error(`our drain did not evict all pods: ${JSON.stringify(mine.value).slice(0, 300)}`);
    }
    const kubectl = await timed(() =>
      run(
        join(cluster.toolsBin, 'kubectl'),
        [
          '--kubeconfig',
          cluster.kubeconfigPath,
          'drain',
          theirs,
          '--ignore-daemonsets',
          '--delete-emptydir-data',
          '--timeout=600s',
        ],
        { maxBuffer: 64 * 1024 * 1024 },
      ),
    );
    const left = (await podsOn(k, theirs, g)).filter((p) => !p.metadata?.labels?.app?.startsWith('agent'));
    if (left.length > 0) throw new Error(`kubectl left ${left.length} pods`);

    console.log(
      `drain of a node with ${DEPLOYMENTS * REPLICAS} pods (PDB maxUnavailable 50%, 429 retry 5 s):`,
    );
    console.log(`  burst-workers drainNode : ${(mine.ms / 1000).toFixed(2)} s`);
    console.log(`  kubectl drain           : ${(kubectl.ms / 1000).toFixed(2)} s`);
    console.log(`  ratio ours / kubectl    : ${(mine.ms / kubectl.ms).toFixed(2)}`);
  } finally {
    await deleteNamespace(k, g);
    for (const name of all) await deleteNodeQuietly(k, name);
    await cluster.close();
  }
}

await main();
