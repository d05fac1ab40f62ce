/**
 * Kubernetes clients from a kubeconfig (config file key, $KUBECONFIG, ~/.kube/config)
 * or the in-cluster service account, and the mapping of API failures to typed errors.
 */
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { delimiter, join } from 'node:path';
import {
  ApiException,
  CoreV1Api,
  KubeConfig,
  PolicyV1Api,
  type RequestContext,
} from '@kubernetes/client-node';
import type { Config } from '../../core/config.js';
import { ErrorCode, WorkerError } from '../../core/errors.js';

export interface KubeClients {
  kc: KubeConfig;
  core: CoreV1Api;
  policy: PolicyV1Api;
  /** Where the config came from, for error messages. */
  source: string;
}

/**
 * A KubeConfig whose requests share one connection pool per cluster and user.
 * client-node 2.0 creates a new undici Agent for every request, so every call pays a
 * TLS handshake and leaves an idle connection behind; a drain of 100 pods would open
 * 100 connections where kubectl opens one. Credentials are still applied per request
 * (tokens are headers); the pool only carries the TLS settings, which are fixed per
 * cluster and user in a kubeconfig.
 */
export class PooledKubeConfig extends KubeConfig {
  private readonly pools = new Map<string, NonNullable<ReturnType<RequestContext['getDispatcher']>>>();

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    const fresh = context.getDispatcher();
    if (fresh === undefined) return;
    const key = `${this.getCurrentCluster()?.server ?? ''}\u0000${this.getCurrentUser()?.name ?? ''}`;
    const pooled = this.pools.get(key);
    if (pooled === undefined) {
      this.pools.set(key, fresh);
      return;
    }
    context.setDispatcher(pooled);
    void fresh.close().catch(() => undefined);
  }
}

const IN_CLUSTER_TOKEN = '/var/run/secrets/kubernetes.io/serviceaccount/token';

function unavailable(message: string, source: string): WorkerError {
  return new WorkerError(ErrorCode.ClusterUnavailable, message, { source });
}

/**
 * Loads the clients. Order: `kubernetes.kubeconfig` from config, then $KUBECONFIG
 * (first existing file of the list), then ~/.kube/config, then in-cluster.
 * The context is `kubernetes.context` (KUBECTL_CONTEXT is applied by parseConfig).
 * @throws WorkerError(ClusterUnavailable) naming the source tried.
 */
export function loadKubeClients(
  config: Config,
  env: Record<string, string | undefined> = process.env,
): KubeClients {
  const kc = new PooledKubeConfig();
  let source = 'kubeconfig';
  try {
    if (config.kubernetes.kubeconfig !== '') {
      source = `kubeconfig ${config.kubernetes.kubeconfig} (kubernetes.kubeconfig)`;
      if (!existsSync(config.kubernetes.kubeconfig)) throw new Error('file not found');
      kc.loadFromFile(config.kubernetes.kubeconfig);
    } else if (env.KUBECONFIG !== undefined && env.KUBECONFIG !== '') {
      const files = env.KUBECONFIG.split(delimiter).filter((f) => f !== '');
      const file = files.find((f) => existsSync(f));
      source = `kubeconfig ${file ?? env.KUBECONFIG} ($KUBECONFIG)`;
      if (file === undefined) throw new Error('file not found');
      kc.loadFromFile(file);
    } else {
      const home = env.HOME ?? homedir();
      const file = join(home, '.kube', 'config');
      if (existsSync(file)) {
        source = `kubeconfig ${file}`;
        kc.loadFromFile(file);
      } else if (env.KUBERNETES_SERVICE_HOST !== undefined && existsSync(IN_CLUSTER_TOKEN)) {
        source = 'in-cluster service account';
        kc.loadFromCluster();
      } else {
        throw unavailable(
          `no Kubernetes configuration found: kubernetes.kubeconfig and $KUBECONFIG are unset, ${file} does not exist, and this is not a pod with a service account`,
          'none',
        );
      }
    }
  } catch (err) {
    if (err instanceof WorkerError) throw err;
    throw unavailable(`cannot load ${source}: ${(err as Error).message}`, source);
  }
  const context = config.kubernetes.context;
  if (context !== '') {
    if (!kc.getContexts().some((c) => c.name === context)) {
      throw unavailable(
        `context "${context}" (kubernetes.context / KUBECTL_CONTEXT) does not exist in ${source}; available: ${
          kc
            .getContexts()
            .map((c) => c.name)
            .join(', ') || 'none'
        }`,
        source,
      );
    }
    kc.setCurrentContext(context);
    source = `${source}, context ${context}`;
  }
  if (kc.getCurrentCluster() === null) {
    throw unavailable(`${source} has no current cluster`, source);
  }
  return { kc, core: kc.makeApiClient(CoreV1Api), policy: kc.makeApiClient(PolicyV1Api), source };
}

/** HTTP status of an API error, or undefined for network and other errors. */
export function statusOf(err: unknown): number | undefined {
  if (err instanceof ApiException) return err.code;
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'number' ? code : undefined;
}

/** The API's Status message of an error, falling back to the error message. */
export function messageOf(err: unknown): string {
  if (err instanceof ApiException) {
    const body = err.body as unknown;
    if (typeof body === 'string') {
      try {
        const parsed = JSON.parse(body) as { message?: string };
        if (parsed.message) return parsed.message;
      } catch {
        return body;
      }
    } else if (body && typeof body === 'object' && 'message' in body) {
      return String((body as { message: unknown }).message);
    }
    return `HTTP ${err.code}`;
  }
  return err instanceof Error ? err.message : String(err);
}

/**
 * Maps errors that are not about the object itself: network failures and auth
 * problems become ClusterUnavailable naming the server and the config source.
 */
export function clusterError(k: KubeClients, err: unknown, what: string): unknown {
  if (err instanceof WorkerError) return err;
  const status = statusOf(err);
  const server = k.kc.getCurrentCluster()?.server ?? '?';
  if (status === undefined) {
    const cause = (err as { cause?: { message?: string; code?: string } } | null)?.cause;
    const detail = cause?.code ?? cause?.message ?? messageOf(err);
    return new WorkerError(
      ErrorCode.ClusterUnavailable,
      `cannot reach the Kubernetes API at ${server} (from ${k.source}) while trying to ${what}: ${detail}`,
      { source: k.source, server },
    );
  }
  if (status === 401 || status === 403) {
    return new WorkerError(
      ErrorCode.ClusterUnavailable,
      `the Kubernetes API at ${server} refused to ${what} (HTTP ${status}, credentials from ${k.source}): ${messageOf(err)}`,
      { source: k.source, server, status },
    );
  }
  return err;
}

/** Runs one API call, mapping cluster-level failures; object-level errors are rethrown as is. */
export async function kubeCall<T>(k: KubeClients, what: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw clusterError(k, err, what);
  }
}

/** GET /version: proves the cluster is reachable with these credentials. */
export async function checkCluster(k: KubeClients): Promise<{ gitVersion: string }> {
  const { VersionApi } = await import('@kubernetes/client-node');
  const info = await kubeCall(k, 'read the server version', () => k.kc.makeApiClient(VersionApi).getCode());
  return { gitVersion: info.gitVersion };
}
