import { describe, expect, it } from 'vitest';
import { seededRandom } from '../../activities/vm/faults.js';
import { parseStdioEndpoint } from '../../activities/vm/mcp.js';
import { descriptionFor, hasMarker, tagsOf } from '../../activities/vm/proxmox.js';
import { ProxmoxApiError } from '../../activities/vm/proxmox-client.js';
import { nodeFor } from '../../activities/vm/sandbox-hypervisor.js';
import { kubeError } from '../../activities/vm/sandbox-state.js';
import {
  DEFAULT_BURST_LABEL_KEY,
  MANAGED_BY_LABEL,
  STARTUP_TAINT_KEY,
  VM_OWNER_TAG,
} from '../../core/labels.js';
import { durationMs, VM_ACTIVITY_RETRY } from '../../core/retry.js';

describe('fault randomness', () => {
  it('is reproducible from a seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const xs = Array.from({ length: 5 }, () => a());
    expect(Array.from({ length: 5 }, () => b())).toEqual(xs);
    for (const x of xs) expect(x >= 0 && x < 1).toBe(true);
  });
});

describe('Proxmox error classification', () => {
  it.each([
    [0, 'socket hang up', true],
    [500, 'VM 101 is locked (clone)', true],
    [503, 'service unavailable', true],
    [500, 'unable to create VM 101: config file already exists', true],
    [401, 'invalid token value!', false],
    [403, 'Permission check failed', false],
    [400, 'Parameter verification failed.', false],
    [500, "can't remove VM 101 - protection mode enabled", false],
    [595, "no such cluster node 'pve2'", false],
  ])('%i %s → retryable %s', (status, message, retryable) => {
    const err = new ProxmoxApiError(status, message);
    expect(err.retryable).toBe(retryable);
    expect(err.toProviderError('test').retryable).toBe(retryable);
  });

  it('never puts the token in an error message', () => {
    const err = new ProxmoxApiError(401, 'invalid token value!').toProviderError('list VMs');
    expect(err.message).not.toMatch(/PVEAPIToken|secret/i);
  });

  it('recognizes missing VMs', () => {
    expect(
      new ProxmoxApiError(500, "Configuration file 'nodes/pve/qemu-server/1.conf' does not exist").notFound,
    ).toBe(true);
  });
});

describe('Proxmox tags and description marker', () => {
  it('round-trips the caller tags and the ownership tag', () => {
    const spec = {
      name: 'bw-1',
      sizeName: 'small',
      size: { cpu: 2, memory_gb: 4, disk_gb: 50 },
      userData: 'x',
      tags: { team: 'a' },
    };
    const desc = descriptionFor(spec);
    expect(hasMarker({ description: desc }, 'bw-1')).toBe(true);
    expect(hasMarker({ description: desc }, 'bw-2')).toBe(false);
    expect(tagsOf(`${VM_OWNER_TAG};other`, desc)).toEqual({ team: 'a', [VM_OWNER_TAG]: 'true', other: '' });
    expect(tagsOf('other', '')).not.toHaveProperty(VM_OWNER_TAG);
  });
});

describe('mcp endpoint', () => {
  it('splits a stdio endpoint into command and arguments', () => {
    expect(parseStdioEndpoint('stdio://node --import tsx main.ts --stdio')).toEqual({
      command: 'node',
      args: ['--import', 'tsx', 'main.ts', '--stdio'],
    });
    expect(() => parseStdioEndpoint('stdio://')).toThrow();
  });
});

describe('sandbox', () => {
  it('registers nodes as a kubelet would, without the labels that decide reaping', () => {
    const node = nodeFor('ns', {
      id: 'sb-1',
      name: 'bw-1',
      sizeName: 'medium',
      cpu: 4,
      memoryGb: 8,
      diskGb: 100,
      state: 'running',
      createdAt: '',
      tags: {},
      userData: '',
      neverJoin: false,
    });
    expect(node.spec?.providerID).toBe('sandbox://ns/sb-1');
    expect(node.spec?.taints?.[0]).toMatchObject({ key: STARTUP_TAINT_KEY, effect: 'NoExecute' });
    expect(node.metadata?.labels?.['node.kubernetes.io/instance-type']).toBe('medium');
    expect(node.metadata?.labels).not.toHaveProperty(MANAGED_BY_LABEL);
    expect(node.metadata?.labels).not.toHaveProperty(DEFAULT_BURST_LABEL_KEY);
    expect(node.status?.allocatable).toMatchObject({ cpu: '4', memory: '8Gi', pods: '110' });
  });

  it('maps Kubernetes API errors to typed provider errors', () => {
    expect(
      (kubeError('x', Object.assign(new Error('Unauthorized'), { code: 401 })) as { retryable: boolean })
        .retryable,
    ).toBe(false);
    expect(kubeError('x', Object.assign(new Error('etcd'), { code: 500 })).retryable).toBe(true);
    expect(kubeError('x', new Error('ECONNREFUSED')).retryable).toBe(true);
  });
});

describe('VM_ACTIVITY_RETRY', () => {
  it('outlasts 20 % failures per call: ten attempts, capped backoff', () => {
    expect(VM_ACTIVITY_RETRY.maximumAttempts).toBeGreaterThanOrEqual(8);
    expect(durationMs(VM_ACTIVITY_RETRY.maximumInterval)).toBe(30_000);
    expect(VM_ACTIVITY_RETRY.nonRetryableErrorTypes).toContain('ProviderFatal');
  });
});
