import { KubeConfig } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { createVmProvider, VmProviderError } from '../../activities/vm/index.js';
import { parseConfig } from '../../core/config.js';

const kube = new KubeConfig();
kube.loadFromOptions({
  clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }],
  users: [{ name: 'u' }],
  contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
  currentContext: 'x',
});

function fatalOf(fn: () => unknown): VmProviderError {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(VmProviderError);
    expect((err as VmProviderError).retryable).toBe(false);
    return err as VmProviderError;
  }
  throw new Error('expected a VmProviderError');
}

describe('createVmProvider', () => {
  it('builds the sandbox provider by default', () => {
    expect(createVmProvider(parseConfig(''), { kube }).type).toBe('sandbox');
  });

  it('needs a kubeconfig for the sandbox provider', () => {
    fatalOf(() => createVmProvider(parseConfig(''), {}));
  });

  it('builds the proxmox provider with the token from the environment, and never shows the token', () => {
    const cfg = parseConfig(
      'provider: { type: proxmox, proxmox: { api_url: "https://127.0.0.1:8006/api2/json", node: pve, template_id: 9000 } }',
    );
    expect(createVmProvider(cfg, { env: { PROXMOX_API_TOKEN: 'root@pam!t=s3cret' } }).type).toBe('proxmox');
    const err = fatalOf(() => createVmProvider(cfg, { env: {} }));
    expect(err.message).toContain('PROXMOX_API_TOKEN');
  });

  it('builds the mcp provider from the endpoint override, and refuses an empty endpoint', () => {
    const env = { PROXMOX_MCP_ENDPOINT: 'http://127.0.0.1:9/mcp' };
    expect(createVmProvider(parseConfig('provider: { type: mcp }', env), { env }).type).toBe('mcp');
    fatalOf(() => createVmProvider(parseConfig('provider: { type: mcp }'), { env: {} }));
  });
});
