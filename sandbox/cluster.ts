/**
 * The sandbox Kubernetes cluster: a real etcd, kube-apiserver, kube-controller-manager
 * and kube-scheduler, with kwok simulating kubelets, run as local processes by
 * `kwokctl --runtime binary` from binaries built by install-tools.sh (nothing is
 * downloaded at run time).
 *
 * kwok manages only nodes annotated `kwok.x-k8s.io/node=fake`, so a node whose VM
 * is gone can really go NotReady.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { run, StackError } from './process.js';

export const KWOK_MANAGED_ANNOTATION = 'kwok.x-k8s.io/node';
export const KUBE_VERSION = 'v1.36.3';

export interface ClusterOptions {
  name: string;
  toolsBin: string;
  /** kwokctl's work folder (holds etcd data, certificates, logs). */
  workdir: string;
  /** Fixed apiserver port; random when omitted. */
  apiserverPort?: number;
}

export interface Cluster {
  name: string;
  kubeconfigPath: string;
  workdir: string;
  stop(): Promise<void>;
  remove(): Promise<void>;
}

function kwokEnv(opts: ClusterOptions): NodeJS.ProcessEnv {
  const bin = opts.toolsBin;
  return {
    ...process.env,
    KWOK_WORKDIR: opts.workdir,
    KWOK_KUBE_VERSION: KUBE_VERSION,
    KWOK_RUNTIME: 'binary',
    KWOK_KUBE_BINARY_PREFIX: bin,
    KWOK_KUBECTL_BINARY: join(bin, 'kubectl'),
    KWOK_KUBE_APISERVER_BINARY: join(bin, 'kube-apiserver'),
    KWOK_KUBE_CONTROLLER_MANAGER_BINARY: join(bin, 'kube-controller-manager'),
    KWOK_KUBE_SCHEDULER_BINARY: join(bin, 'kube-scheduler'),
    KWOK_ETCD_BINARY: join(bin, 'etcd'),
    KWOK_CONTROLLER_BINARY: join(bin, 'kwok'),
  };
}

function kwokctlConfig(): string {
  return `apiVersion: config.kwok.x-k8s.io/v1alpha1
kind: KwokctlConfiguration
componentsPatches:
  - name: kwok-controller
    extraArgs:
      - key: manage-all-nodes
        value: "false"
        override: true
      - key: manage-nodes-with-annotation-selector
        value: ${KWOK_MANAGED_ANNOTATION}=fake
  - name: kube-controller-manager
    extraArgs:
      - key: node-monitor-grace-period
        value: 40s
        override: true
`;
}

function clusterDir(opts: ClusterOptions): string {
  return join(opts.workdir, 'clusters', opts.name);
}

export function clusterExists(opts: ClusterOptions): boolean {
  return existsSync(join(clusterDir(opts), 'kwok.yaml'));
}

async function kwokctl(opts: ClusterOptions, args: string[], timeoutMs = 180_000): Promise<string> {
  try {
    return await run(join(opts.toolsBin, 'kwokctl'), ['--name', opts.name, ...args], {
      env: kwokEnv(opts),
      timeoutMs,
    });
  } catch (err) {
    throw new StackError(
      `kwokctl ${args[0]} ${args[1] ?? ''} failed: ${err instanceof Error ? err.message : String(err)}`,
    );
  }
}

/** Creates the cluster, or starts it again with its previous data when it exists. */
export async function ensureCluster(opts: ClusterOptions): Promise<Cluster> {
  mkdirSync(opts.workdir, { recursive: true });
  const dir = clusterDir(opts);
  const kubeconfigPath = join(dir, 'kubeconfig.yaml');
  if (clusterExists(opts)) {
    await kwokctl(opts, ['start', 'cluster', '--wait', '120s']);
  } else {
    const configPath = join(opts.workdir, `${opts.name}.kwokctl.yaml`);
    writeFileSync(configPath, kwokctlConfig());
    const args = [
      'create',
      'cluster',
      '--runtime',
      'binary',
      '--config',
      configPath,
      // kwokctl would otherwise add the cluster to ~/.kube/config and switch its context.
      '--kubeconfig',
      join(opts.workdir, `${opts.name}.user-kubeconfig.yaml`),
      '--wait',
      '120s',
    ];
    if (opts.apiserverPort) args.push('--kube-apiserver-port', String(opts.apiserverPort));
    await kwokctl(opts, args);
  }
  if (!existsSync(kubeconfigPath)) throw new StackError(`the cluster has no kubeconfig at ${kubeconfigPath}`);
  return {
    name: opts.name,
    kubeconfigPath,
    workdir: opts.workdir,
    stop: async () => {
      await kwokctl(opts, ['stop', 'cluster'], 60_000);
    },
    remove: async () => {
      await kwokctl(opts, ['delete', 'cluster'], 60_000);
    },
  };
}
