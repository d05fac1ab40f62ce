/** Seeds the sandbox cluster with nodes and workloads (idempotent: kubectl apply). */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { run } from './process.js';

export const SEED_DIR = fileURLToPath(new URL('./seed/', import.meta.url));

export async function seedCluster(toolsBin: string, kubeconfigPath: string): Promise<void> {
  const kubectl = join(toolsBin, 'kubectl');
  for (const file of ['nodes.yaml', 'workloads.yaml']) {
    await run(
      kubectl,
      [
        '--kubeconfig',
        kubeconfigPath,
        'apply',
        '--server-side',
        '--force-conflicts',
        '-f',
        join(SEED_DIR, file),
      ],
      {
        timeoutMs: 60_000,
      },
    );
  }
}
