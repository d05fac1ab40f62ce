/**
 * Access to the shared test stack started by test/support/global-setup.ts:
 * a real kube-apiserver + etcd + controller-manager + scheduler + kwok cluster, and
 * a Temporal dev server. Suites isolate themselves with unique node names and
 * namespaces (uniqueName), not with separate clusters.
 */
import { randomBytes } from 'node:crypto';
import { KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    kubeconfig: string;
    temporalAddress: string;
    toolsBin: string;
    dataDir: string;
  }
}

export function kubeconfigPath(): string {
  const path = inject('kubeconfig');
  if (!path) throw new Error('the test stack is not running (kubeconfig not provided by global setup)');
  return path;
}

export function kubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfigPath());
  return kc;
}

export function temporalAddress(): string {
  const address = inject('temporalAddress');
  if (!address)
    throw new Error('the test stack is not running (Temporal address not provided by global setup)');
  return address;
}

/** Folder with temporal, kubectl, kwokctl, … */
export function toolsBin(): string {
  return inject('toolsBin');
}

/** Scratch folder of this test run. */
export function dataDir(): string {
  return inject('dataDir');
}

/** A DNS-1123 label unique to this run: `<prefix>-<8 hex>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}
