import { describe, expect, it } from 'vitest';
import { DEFAULT_WORKER_SIZES, defaultConfig, parseConfig } from '../../core/config.js';
import { ErrorCode, WorkerError } from '../../core/errors.js';

function configError(fn: () => unknown): WorkerError {
  try {
    fn();
  } catch (err) {
    if (err instanceof WorkerError) return err;
    throw err;
  }
  throw new Error('expected a WorkerError');
}

describe('parseConfig', () => {
  it('gives the seed defaults for an empty file', () => {
    const cfg = defaultConfig();
    expect(cfg.worker_sizes).toEqual(DEFAULT_WORKER_SIZES);
    expect(cfg.safety.protected_worker_patterns).toEqual([
      '^master-.*',
      '^control-plane-.*',
      '^permanent-.*',
    ]);
    expect(cfg.drain.grace_period_seconds).toBe(300);
    expect(cfg.drain.ignore_daemonsets).toBe(true);
    expect(cfg.burst_workers.label).toEqual({ key: 'worker-type', value: 'burst' });
    expect(cfg.provider.type).toBe('sandbox');
  });

  it('reads the shipped config/worker-config.yaml without error and matches the defaults', async () => {
    const { readFile } = await import('node:fs/promises');
    const text = await readFile(new URL('../../config/worker-config.yaml', import.meta.url), 'utf8');
    expect(parseConfig(text)).toEqual(defaultConfig());
  });

  it('names the key path and the rule of a wrong type', () => {
    const err = configError(() =>
      parseConfig('drain:\n  timeout_seconds: "soon"\n', {}, 'worker-config.yaml'),
    );
    expect(err.code).toBe(ErrorCode.ConfigInvalid);
    expect(err.message).toContain('worker-config.yaml: drain.timeout_seconds:');
    expect(err.message).toMatch(/number/);
  });

  it('names an unknown key', () => {
    const err = configError(() => parseConfig('safety:\n  protected_patterns: ["^x"]\n'));
    expect(err.message).toContain('safety');
    expect(err.message).toContain('protected_patterns');
  });

  it('rejects an invalid protected pattern with its index', () => {
    const err = configError(() =>
      parseConfig('safety:\n  protected_worker_patterns: ["^ok", "(unclosed"]\n'),
    );
    expect(err.message).toContain('safety.protected_worker_patterns[1]: must be a valid regular expression');
  });

  it('rejects a default size that is not a configured size', () => {
    const err = configError(() => parseConfig('burst_workers:\n  default_size: huge\n'));
    expect(err.message).toContain('burst_workers.default_size: must be one of the worker_sizes');
  });

  it('rejects YAML syntax errors', () => {
    const err = configError(() => parseConfig('drain: [unclosed\n'));
    expect(err.message).toContain('invalid YAML');
  });

  it('rejects a non-mapping document', () => {
    expect(configError(() => parseConfig('- a\n- b\n')).message).toContain('(root): must be a mapping');
  });

  it('applies environment overrides over the file', () => {
    const cfg = parseConfig('kubernetes:\n  context: from-file\ntemporal:\n  address: file:7233\n', {
      KUBECTL_CONTEXT: 'from-env',
      TALOS_MCP_ENDPOINT: 'stdio://talos-mcp',
      PROXMOX_MCP_ENDPOINT: 'http://127.0.0.1:9000/mcp',
      TEMPORAL_ADDRESS: 'env:7233',
      TEMPORAL_NAMESPACE: 'burst',
      MCP_PORT: '9999',
    });
    expect(cfg.kubernetes.context).toBe('from-env');
    expect(cfg.mcp_servers.talos.endpoint).toBe('stdio://talos-mcp');
    expect(cfg.mcp_servers.proxmox.endpoint).toBe('http://127.0.0.1:9000/mcp');
    expect(cfg.temporal.address).toBe('env:7233');
    expect(cfg.temporal.namespace).toBe('burst');
    expect(cfg.mcp.port).toBe(9999);
  });

  it('ignores empty environment values', () => {
    expect(parseConfig('kubernetes:\n  context: keep\n', { KUBECTL_CONTEXT: '' }).kubernetes.context).toBe(
      'keep',
    );
  });

  it('names the variable of a bad numeric override', () => {
    const err = configError(() => parseConfig('', { MCP_PORT: 'eighty' }));
    expect(err.message).toContain('MCP_PORT (overrides mcp.port): must be an integer');
  });

  it('validates an override against the schema like a file value', () => {
    const err = configError(() => parseConfig('', { VM_PROVIDER: 'vmware' }));
    expect(err.message).toContain('provider.type:');
  });

  it('accepts extra worker sizes', () => {
    const cfg = parseConfig(
      'worker_sizes:\n  tiny: { cpu: 1, memory_gb: 1, disk_gb: 10 }\n  medium: { cpu: 4, memory_gb: 8, disk_gb: 100 }\n',
    );
    expect(Object.keys(cfg.worker_sizes)).toEqual(['tiny', 'medium']);
  });
});
