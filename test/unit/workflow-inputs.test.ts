/**
 * Pure parts of the workflow layer: input validation at workflow start (same rules as the
 * MCP boundary), and the mapping of lower-layer errors to typed Temporal failures.
 */
import { ApplicationFailure } from '@temporalio/common';
import { describe, expect, it } from 'vitest';
import { toFailure } from '../../activities/index.js';
import type { WorkflowPolicy } from '../../activities/types.js';
import { VmProviderError } from '../../activities/vm/provider.js';
import { defaultConfig } from '../../core/config.js';
import { ErrorCode, WorkerError } from '../../core/errors.js';
import {
  burstWorkerInputSchema,
  destroyInputSchema,
  parseInput,
  provisionInputSchema,
} from '../../workflows/validation.js';

const config = defaultConfig();
const policy: WorkflowPolicy = {
  providerType: 'sandbox',
  burstWorkers: config.burst_workers,
  workerSizes: Object.keys(config.worker_sizes),
  safety: { protected_worker_patterns: [], require_drain_before_destroy: true },
  drain: config.drain,
};

function failureOf(fn: () => unknown): ApplicationFailure {
  try {
    fn();
  } catch (err) {
    if (err instanceof ApplicationFailure) return err;
    throw err;
  }
  throw new Error('expected a failure');
}

describe('workflow input validation', () => {
  const valid = { count: 3, ttlSeconds: 3600, size: 'small', idempotencyKey: 'abc-1' };

  it('accepts a valid provision request', () => {
    expect(parseInput(provisionInputSchema(policy), valid, 'provisionWorkers')).toEqual(valid);
  });

  it.each([
    [{ count: 0 }, /count: must be at least 1/],
    [{ count: 11 }, /count: must be at most 10/],
    [{ count: 1.5 }, /count: must be a whole number/],
    [{ ttlSeconds: 0 }, /ttlSeconds: must be at least 1 second/],
    [{ ttlSeconds: 168 * 3600 + 1 }, /ttlSeconds: must be at most 604800 seconds \(168 hours\)/],
    [{ size: 'huge' }, /size: must be one of: small, medium, large/],
    [{ idempotencyKey: 'a b' }, /idempotencyKey: may contain only/],
  ])('refuses %o with ValidationFailed naming the field', (patch, message) => {
    const f = failureOf(() =>
      parseInput(provisionInputSchema(policy), { ...valid, ...patch }, 'provisionWorkers'),
    );
    expect(f.type).toBe(ErrorCode.ValidationFailed);
    expect(f.nonRetryable).toBe(true);
    expect(f.message).toMatch(message);
  });

  it('refuses a worker name that is not a DNS-1123 name', () => {
    const f = failureOf(() =>
      parseInput(burstWorkerInputSchema(policy), { name: 'Bad_Name', sizeName: 'small', ttlSeconds: 5 }, 'x'),
    );
    expect(f.message).toMatch(/name: must be a DNS-1123 subdomain/);
    const d = failureOf(() =>
      parseInput(destroyInputSchema, { worker: 'ok', force: 'yes' }, 'destroyWorker'),
    );
    expect(d.message).toMatch(/force/);
  });
});

describe('activity error mapping', () => {
  it('makes safety and validation codes non-retryable failures typed by the code', () => {
    for (const code of [ErrorCode.PermanentWorker, ErrorCode.ProtectedWorker, ErrorCode.NotDrained]) {
      const f = toFailure(new WorkerError(code, 'refused', { worker: 'w' })) as ApplicationFailure;
      expect(f).toBeInstanceOf(ApplicationFailure);
      expect(f.type).toBe(code);
      expect(f.nonRetryable).toBe(true);
    }
    const join = toFailure(new WorkerError(ErrorCode.JoinTimeout, 'never joined')) as ApplicationFailure;
    expect(join.nonRetryable).toBe(true);
  });

  it('keeps transient failures retryable', () => {
    const cluster = toFailure(new WorkerError(ErrorCode.ClusterUnavailable, 'down')) as ApplicationFailure;
    expect(cluster.type).toBe(ErrorCode.ClusterUnavailable);
    expect(cluster.nonRetryable).toBe(false);
    const vm = toFailure(new VmProviderError('busy', { retryable: true })) as ApplicationFailure;
    expect(vm.type).toBe(ErrorCode.ProviderTransient);
    expect(vm.nonRetryable).toBe(false);
    const fatal = toFailure(new VmProviderError('no template', { retryable: false })) as ApplicationFailure;
    expect(fatal.type).toBe(ErrorCode.ProviderFatal);
    expect(fatal.nonRetryable).toBe(true);
    const plain = new Error('socket hang up');
    expect(toFailure(plain)).toBe(plain);
  });
});
