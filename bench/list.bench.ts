/**
 * Listing benchmark at 1,000 nodes / ~10,000 pods: listWorkers (classification,
 * pagination, per-node sums) over one raw node LIST + one raw pod LIST from the same
 * process and the same client. Prints the medians and the ratio.
 *
 *   node --import tsx bench/list.bench.ts        (BENCH_KUBECONFIG=… to reuse a cluster)
 */
import { listWorkers } from '../activities/kubernetes/index.js';
import { defaultConfig } from '../core/config.js';
import { cleanupScale, clientsFromFile, seedScale } from '../test/support/kube-fixtures.js';
import { benchCluster, median, timed } from './support.js';

const NODES = 1000;
const ROUNDS = 7;

async function main(): Promise<void> {
  const cluster = await benchCluster();
  const k = clientsFromFile(cluster.kubeconfigPath);
  const config = defaultConfig();
  const g = `bench-list-${Date.now().toString(36)}`;
  try {
    const seeded = await timed(() => seedScale(k, g, NODES));
    console.error(`[bench] seeded ${NODES} nodes in ${(seeded.ms / 1000).toFixed(1)} s`);
    // Warm up both paths (connection, watch cache).
    await listWorkers(k, config);
    await Promise.all([k.core.listNode({}), k.core.listPodForAllNamespaces({})]);
    const ours: number[] = [];
    const raw: number[] = [];
    let count = 0;
    let pods = 0;
    for (let r = 0; r < ROUNDS; r++) {
      const a = await timed(() => listWorkers(k, config));
      count = a.value.length;
      ours.push(a.ms);
      const b = await timed(() => Promise.all([k.core.listNode({}), k.core.listPodForAllNamespaces({})]));
      pods = b.value[1].items.length;
      raw.push(b.ms);
    }
    const o = median(ours);
    const w = median(raw);
    console.log(`listing ${count} nodes / ${pods} pods (median of ${ROUNDS}):`);
    console.log(`  listWorkers              : ${o.toFixed(0)} ms`);
    console.log(`  raw node LIST + pod LIST : ${w.toFixed(0)} ms`);
    console.log(`  ratio listWorkers / raw  : ${(o / w).toFixed(2)}`);
  } finally {
    await cleanupScale(k, g);
    await cluster.close();
  }
}

await main();
