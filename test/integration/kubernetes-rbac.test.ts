/**
 * deploy/rbac.yaml against the real apiserver, which runs with RBAC authorization: the
 * worker's service account can do every Kubernetes step of a burst worker's life
 * (inventory, label, wait for Ready, cordon, drain through evictions with the budgets
 * watched, guarded delete) and nothing beyond nodes, pods and evictions; the MCP
 * server's account only reads. Requests are made as those accounts by impersonation.
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { Watch } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { statusOf } from '../../activities/kubernetes/client.js';
import {
  cordonNode,
  deleteNode,
  drainNode,
  getWorker,
  type KubeClients,
  listWorkers,
  markBurstNode,
  planDrain,
  resolveDrainOptions,
  waitForNodeReady,
} from '../../activities/kubernetes/index.js';
import { defaultConfig } from '../../core/config.js';
import { WorkerError } from '../../core/errors.js';
import { toolsBin } from '../../sandbox/paths.js';
import { REPO_ROOT } from '../support/e2e-stack.js';
import {
  apps,
  clientsFromFile,
  createDeployment,
  createNamespace,
  createNode,
  createPdb,
  deleteNamespace,
  deleteNodeQuietly,
  eventually,
  podsOn,
  waitRunning,
} from '../support/kube-fixtures.js';
import { kubeconfigPath, uniqueName } from '../support/stack.js';

const WORKER_SA = 'system:serviceaccount:burst-workers:burst-workers-worker';
const MCP_SA = 'system:serviceaccount:burst-workers:burst-workers-mcp';
const config = defaultConfig();

/** Clients that send every request as `user` (the admin's credentials + Impersonate-User). */
const clientsAs = (user: string): KubeClients => clientsFromFile(kubeconfigPath(), false, user);

async function statusOfCall(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return 200;
  } catch (err) {
    if (err instanceof WorkerError) return err.details?.status as number | undefined;
    return statusOf(err);
  }
}

/** Opens a WATCH as the given clients; resolves on the first event, rejects if the server ends it. */
function firstWatchEvent(k: KubeClients, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let req: { abort(): void } | undefined;
    new Watch(k.kc)
      .watch(
        path,
        {},
        (type) => {
          req?.abort();
          resolve(type);
        },
        (err) => reject(err ?? new Error(`watch ${path} ended`)),
      )
      .then((r) => {
        req = r;
      }, reject);
  });
}

let admin: KubeClients;
let g: string;
const nodes: string[] = [];

beforeAll(async () => {
  admin = clientsFromFile(kubeconfigPath());
  execFileSync(
    join(toolsBin(), 'kubectl'),
    [
      '--kubeconfig',
      kubeconfigPath(),
      'apply',
      '--server-side',
      '--force-conflicts',
      '-f',
      join(REPO_ROOT, 'deploy/rbac.yaml'),
    ],
    { stdio: 'pipe' },
  );
  g = uniqueName('rbac');
  await createNamespace(admin, g);
  // The authorizer sees new bindings through its informers a moment after the apply.
  const worker = clientsAs(WORKER_SA);
  await eventually(
    async () => (await statusOfCall(worker.core.listNode({ limit: 1 }))) === 200,
    30_000,
    'the RBAC bindings in effect',
  );
});

afterAll(async () => {
  await deleteNamespace(admin, g);
  for (const n of nodes) await deleteNodeQuietly(admin, n);
});

describe('deploy/rbac.yaml', () => {
  it('lets the worker run every Kubernetes step of a burst worker, and nothing more', async () => {
    const worker = clientsAs(WORKER_SA);
    const a = `${g}-a`;
    nodes.push(a, `${g}-b`);
    await createNode(admin, { name: a, group: g, kwok: true });
    await createDeployment(admin, g, 'web', { group: g, replicas: 2 });
    await waitRunning(admin, g, 'web', 2);
    await createNode(admin, { name: `${g}-b`, group: g, kwok: true });
    await createPdb(admin, g, 'web-pdb', 'web', { maxUnavailable: 1 });

    // The steps, as the worker's account.
    const ready = await waitForNodeReady(worker, a, 30_000);
    const node = await markBurstNode(worker, config, a, {
      vmId: 'vm-rbac',
      provider: 'sandbox',
      ttlHours: 1,
      expiresAt: new Date(Date.now() + 3_600_000).toISOString(),
      sizeName: 'small',
      createdAt: new Date().toISOString(),
    });
    expect(node.metadata?.uid).toBe(ready.metadata?.uid);
    expect((await listWorkers(worker, config, { type: 'burst' })).map((w) => w.name)).toContain(a);
    expect((await getWorker(worker, config, a)).pods.length).toBe(2);
    await cordonNode(worker, a);
    // The drain retries a refused eviction as soon as a WATCH shows the budget open again.
    expect(await firstWatchEvent(worker, '/apis/policy/v1/poddisruptionbudgets')).toBe('ADDED');
    const drained = await drainNode(
      worker,
      config,
      a,
      resolveDrainOptions(config, { timeoutSeconds: 60, gracePeriodSeconds: 0, evictionRetrySeconds: 1 }),
    );
    expect(drained.completed).toBe(true);
    expect(drained.evicted).toHaveLength(2);
    expect(await podsOn(admin, a, g)).toHaveLength(0);
    expect(await deleteNode(worker, config, a, node.metadata?.uid ?? '')).toEqual({ deleted: true });

    // Beyond nodes, pods and evictions: refused.
    expect(await statusOfCall(worker.core.listSecretForAllNamespaces())).toBe(403);
    expect(await statusOfCall(worker.core.deleteNamespace({ name: g }))).toBe(403);
    expect(
      await statusOfCall(
        worker.core.createNamespacedPod({
          namespace: g,
          body: { metadata: { name: 'x' }, spec: { containers: [{ name: 'x', image: 'x' }] } },
        }),
      ),
    ).toBe(403);
    expect(await statusOfCall(apps(worker).deleteNamespacedDeployment({ name: 'web', namespace: g }))).toBe(
      403,
    );
    expect(
      await statusOfCall(
        worker.policy.deleteNamespacedPodDisruptionBudget({ name: 'web-pdb', namespace: g }),
      ),
    ).toBe(403);
  });

  it('lets the MCP server read nodes, pods and budgets, and change nothing', async () => {
    const mcp = clientsAs(MCP_SA);
    const c = `${g}-c`;
    nodes.push(c);
    await createNode(admin, { name: c, group: g, kwok: true });
    expect((await listWorkers(mcp, config)).map((w) => w.name)).toContain(c);
    expect((await getWorker(mcp, config, c)).name).toBe(c);
    const plan = await planDrain(mcp, config, c, resolveDrainOptions(config, {}));
    expect(plan.worker).toBe(c);
    expect(await statusOfCall(cordonNode(mcp, c))).toBe(403);
    // Authorization comes before the pod is even looked up.
    expect(
      await statusOfCall(
        mcp.core.createNamespacedPodEviction({
          name: 'any-pod',
          namespace: g,
          body: { metadata: { name: 'any-pod', namespace: g } },
        }),
      ),
    ).toBe(403);
    expect(await statusOfCall(mcp.core.deleteNode({ name: c }))).toBe(403);
    expect(await statusOfCall(mcp.core.listSecretForAllNamespaces())).toBe(403);
    expect((await admin.core.readNode({ name: c })).spec?.unschedulable).toBeFalsy();
  });
});
