import { describe, expect, it } from 'vitest';
import {
  buildDrainPlan,
  classifyPod,
  type DrainFilterOptions,
  drainDeadlineMs,
  type PdbLike,
  type PodLike,
  podRequests,
  selectorMatches,
} from '../../core/drain.js';
import { cpuMillis, memoryBytes, parseQuantity } from '../../core/quantity.js';

const strict: DrainFilterOptions = { ignoreDaemonsets: false, deleteEmptydirData: false, force: false };
const lenient: DrainFilterOptions = { ignoreDaemonsets: true, deleteEmptydirData: true, force: true };

function pod(
  over: Partial<PodLike['metadata']> = {},
  spec: PodLike['spec'] = {},
  phase = 'Running',
): PodLike {
  return {
    metadata: {
      name: 'p',
      namespace: 'ns',
      uid: 'u1',
      labels: { app: 'web' },
      ownerReferences: [{ kind: 'ReplicaSet', name: 'web-1', controller: true }],
      ...over,
    },
    spec,
    status: { phase },
  };
}

const pdb = (allowed: number, selector = { matchLabels: { app: 'web' } }, ns = 'ns'): PdbLike => ({
  metadata: { name: `pdb-${allowed}`, namespace: ns },
  spec: { selector },
  status: { disruptionsAllowed: allowed },
});

describe('classifyPod (kubectl filters)', () => {
  it('evicts a controller-managed pod', () => {
    expect(classifyPod(pod(), strict, [])).toMatchObject({ action: 'evict', owner: 'ReplicaSet/web-1' });
  });
  it('skips terminating, mirror and finished pods', () => {
    expect(classifyPod(pod({ deletionTimestamp: '2026-01-01T00:00:00Z' }), strict, []).reason).toBe(
      'terminating',
    );
    expect(classifyPod(pod({ annotations: { 'kubernetes.io/config.mirror': 'x' } }), strict, []).reason).toBe(
      'mirror_pod',
    );
    expect(classifyPod(pod({}, {}, 'Succeeded'), strict, []).reason).toBe('finished');
  });
  it('DaemonSet pods: blocked unless ignored, then skipped', () => {
    const ds = pod({ ownerReferences: [{ kind: 'DaemonSet', name: 'agent', controller: true }] });
    expect(classifyPod(ds, strict, [])).toMatchObject({ action: 'blocked', blockedBy: 'options' });
    expect(classifyPod(ds, lenient, [])).toMatchObject({ action: 'skip', reason: 'daemonset' });
  });
  it('emptyDir blocks without deleteEmptydirData', () => {
    const p = pod({}, { volumes: [{ name: 'scratch', emptyDir: {} }] });
    expect(classifyPod(p, strict, [])).toMatchObject({ action: 'blocked', reason: 'emptydir_data' });
    expect(classifyPod(p, { ...strict, deleteEmptydirData: true }, []).action).toBe('evict');
  });
  it('a bare pod blocks without force', () => {
    const p = pod({ ownerReferences: [] });
    expect(classifyPod(p, strict, [])).toMatchObject({ action: 'blocked', reason: 'no_controller' });
    expect(classifyPod(p, { ...strict, force: true }, []).action).toBe('evict');
  });
  it('a PDB allowing 0 disruptions blocks (not fatal) and is named', () => {
    expect(classifyPod(pod(), strict, [pdb(0)])).toMatchObject({
      action: 'blocked',
      blockedBy: 'pdb',
      pdb: 'pdb-0',
    });
    expect(classifyPod(pod(), strict, [pdb(1)]).action).toBe('evict');
    expect(classifyPod(pod(), strict, [pdb(0, { matchLabels: { app: 'other' } })]).action).toBe('evict');
    expect(classifyPod(pod(), strict, [pdb(0, { matchLabels: { app: 'web' } }, 'elsewhere')]).action).toBe(
      'evict',
    );
  });
  it('a plan is refused only by option blocks', () => {
    expect(buildDrainPlan('n', true, [pod()], strict, [pdb(0)]).refused).toBe(false);
    expect(buildDrainPlan('n', true, [pod({ ownerReferences: [] })], strict, []).refused).toBe(true);
  });
});

describe('selectorMatches', () => {
  it('implements matchLabels and matchExpressions', () => {
    const labels = { app: 'web', tier: 'front' };
    expect(selectorMatches({}, labels)).toBe(true);
    expect(selectorMatches(undefined, labels)).toBe(false);
    expect(
      selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'In', values: ['front'] }] }, labels),
    ).toBe(true);
    expect(
      selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, labels),
    ).toBe(false);
    expect(selectorMatches({ matchExpressions: [{ key: 'x', operator: 'DoesNotExist' }] }, labels)).toBe(
      true,
    );
    expect(selectorMatches({ matchExpressions: [{ key: 'x', operator: 'Exists' }] }, labels)).toBe(false);
  });
});

describe('quantities and requests', () => {
  it('parses Kubernetes quantities', () => {
    expect(parseQuantity('1.5')).toBe(1.5);
    expect(parseQuantity('128Mi')).toBe(128 * 2 ** 20);
    expect(parseQuantity('1G')).toBe(1e9);
    expect(parseQuantity('1e3')).toBe(1000);
    expect(parseQuantity('abc')).toBeNull();
    expect(cpuMillis('250m')).toBe(250);
    expect(cpuMillis('2')).toBe(2000);
    expect(cpuMillis('100u')).toBe(1);
    expect(memoryBytes('1Ki')).toBe(1024);
  });
  it('effective request = max(sum containers, max init) + overhead', () => {
    const p: PodLike = {
      spec: {
        containers: [
          { resources: { requests: { cpu: '100m', memory: '10Mi' } } },
          { resources: { requests: { cpu: '200m' } } },
        ],
        initContainers: [{ resources: { requests: { cpu: '500m', memory: '1Mi' } } }],
        overhead: { cpu: '10m' },
      },
    };
    expect(podRequests(p)).toEqual({ cpuMillis: 510, memoryBytes: 10 * 2 ** 20 });
  });
});

describe('drainDeadlineMs', () => {
  it('an absolute deadline wins over the timeout; 0 = none', () => {
    expect(drainDeadlineMs({ timeoutSeconds: 10, deadline: '2026-01-01T00:00:00Z' }, 0)).toBe(
      Date.parse('2026-01-01T00:00:00Z'),
    );
    expect(drainDeadlineMs({ timeoutSeconds: 10 }, 1000)).toBe(11_000);
    expect(drainDeadlineMs({ timeoutSeconds: 0 }, 1000)).toBeNull();
  });
});
