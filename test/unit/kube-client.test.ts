import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadKubeClients } from '../../activities/kubernetes/index.js';
import { defaultConfig, parseConfig } from '../../core/config.js';
import { ErrorCode, WorkerError } from '../../core/errors.js';

const KUBECONFIG = `apiVersion: v1
kind: Config
clusters:
- name: c1
  cluster: { server: "https://127.0.0.1:1" }
users:
- name: u1
  user: { token: "t" }
contexts:
- name: ctx-a
  context: { cluster: c1, user: u1 }
- name: ctx-b
  context: { cluster: c1, user: u1 }
current-context: ctx-a
`;

function errorOf(fn: () => unknown): WorkerError {
  try {
    fn();
  } catch (err) {
    if (err instanceof WorkerError) return err;
    throw err;
  }
  throw new Error('expected a WorkerError');
}

describe('loadKubeClients', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kube-client-'));
  const file = join(dir, 'config');
  writeFileSync(file, KUBECONFIG);

  it('loads from $KUBECONFIG and selects the context from config (KUBECTL_CONTEXT)', () => {
    const config = parseConfig('', { KUBECTL_CONTEXT: 'ctx-b' });
    const k = loadKubeClients(config, { KUBECONFIG: file, HOME: dir });
    expect(k.kc.getCurrentContext()).toBe('ctx-b');
    expect(k.source).toContain(file);
    expect(k.source).toContain('ctx-b');
  });

  it('config kubernetes.kubeconfig wins over $KUBECONFIG', () => {
    const config = parseConfig(`kubernetes: { kubeconfig: ${JSON.stringify(file)} }`);
    const k = loadKubeClients(config, { KUBECONFIG: join(dir, 'nope'), HOME: dir });
    expect(k.source).toContain('kubernetes.kubeconfig');
  });

  it('a missing file is ClusterUnavailable naming the source tried', () => {
    const err = errorOf(() =>
      loadKubeClients(defaultConfig(), { KUBECONFIG: join(dir, 'missing'), HOME: dir }),
    );
    expect(err.code).toBe(ErrorCode.ClusterUnavailable);
    expect(err.message).toContain(join(dir, 'missing'));
  });

  it('no config anywhere is ClusterUnavailable naming what was tried', () => {
    const err = errorOf(() => loadKubeClients(defaultConfig(), { HOME: join(dir, 'empty-home') }));
    expect(err.code).toBe(ErrorCode.ClusterUnavailable);
    expect(err.message).toContain(join(dir, 'empty-home', '.kube', 'config'));
  });

  it('an unknown context is ClusterUnavailable listing the available ones', () => {
    const config = parseConfig('kubernetes: { context: nope }');
    const err = errorOf(() => loadKubeClients(config, { KUBECONFIG: file }));
    expect(err.code).toBe(ErrorCode.ClusterUnavailable);
    expect(err.message).toContain('ctx-a');
  });
});
