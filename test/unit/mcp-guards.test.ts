/** Pure guards of the MCP server: HTTP Host/Origin/bearer checks, confirmation tokens, provision limits. */
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it, vi } from 'vitest';
import { ErrorCode } from '../../core/errors.js';
import { createAuditLog } from '../../mcp-server/audit.js';
import { createConfirmationTokens } from '../../mcp-server/confirmation.js';
import {
  checkLimits,
  createProvisionLimiter,
  HOUR_MS,
  PENDING_RESERVATION_MS,
} from '../../mcp-server/rate-limit.js';
import { modeRefusal, redactArguments } from '../../mcp-server/tool-host.js';
import {
  bearerMatches,
  hostAllowed,
  originAllowed,
  tokenId,
} from '../../mcp-server/transports/http-guard.js';

const loopback = { bindHost: '127.0.0.1', port: 8765, allowedOrigins: [] as string[] };

describe('HTTP guards', () => {
  it('accepts loopback Host names on the right port only', () => {
    for (const h of ['127.0.0.1:8765', 'localhost:8765', '[::1]:8765', 'localhost']) {
      expect(hostAllowed(h, loopback), h).toBe(true);
    }
    for (const h of [
      'evil.example:8765',
      'evil.example',
      '127.0.0.1:9999',
      '',
      undefined,
      'localhost.evil.example:8765',
    ]) {
      expect(hostAllowed(h, loopback), String(h)).toBe(false);
    }
    expect(hostAllowed('mcp.internal:8765', { ...loopback, bindHost: 'mcp.internal' })).toBe(true);
  });

  it('accepts no Origin, loopback Origins and listed ones; refuses the rest', () => {
    expect(originAllowed(undefined, loopback)).toBe(true);
    expect(originAllowed('http://localhost:3000', loopback)).toBe(true);
    expect(originAllowed('http://127.0.0.1:6274', loopback)).toBe(true);
    expect(originAllowed('http://evil.example', loopback)).toBe(false);
    expect(originAllowed('null', loopback)).toBe(false);
    expect(originAllowed('file://', loopback)).toBe(false);
    expect(
      originAllowed('https://ops.example', { ...loopback, allowedOrigins: ['https://ops.example'] }),
    ).toBe(true);
  });

  it('matches the bearer token exactly', () => {
    expect(bearerMatches('Bearer s3cret', 's3cret')).toBe(true);
    expect(bearerMatches('bearer s3cret', 's3cret')).toBe(true);
    expect(bearerMatches('Bearer s3cre', 's3cret')).toBe(false);
    expect(bearerMatches('Bearer s3cretX', 's3cret')).toBe(false);
    expect(bearerMatches('Basic s3cret', 's3cret')).toBe(false);
    expect(bearerMatches(undefined, 's3cret')).toBe(false);
    expect(tokenId('s3cret')).not.toContain('s3cret');
    expect(tokenId('s3cret')).toHaveLength(12);
  });
});

describe('confirmation tokens', () => {
  it('expire, are single-use and bound to their subject', () => {
    let now = 1_000_000;
    const tokens = createConfirmationTokens({ ttlSeconds: 60, now: () => now });
    const a = tokens.issue('destroy_worker', { worker: 'bw-1', force: false });
    expect(tokens.verify(a.token, 'destroy_worker', { worker: 'bw-2', force: false })).toMatch(/different/);
    expect(tokens.verify(`${a.token}x`, 'destroy_worker', { worker: 'bw-1', force: false })).toMatch(
      /signature/,
    );
    expect(tokens.verify(a.token, 'destroy_worker', { worker: 'bw-1', force: false })).toBeNull();
    expect(tokens.verify(a.token, 'destroy_worker', { worker: 'bw-1', force: false })).toMatch(
      /already used/,
    );
    const b = tokens.issue('destroy_worker', { worker: 'bw-1', force: false });
    now += 61_000;
    expect(tokens.verify(b.token, 'destroy_worker', { worker: 'bw-1', force: false })).toMatch(/expired/);
    const other = createConfirmationTokens({ ttlSeconds: 60, now: () => now });
    const c = other.issue('destroy_worker', { worker: 'bw-1', force: false });
    expect(tokens.verify(c.token, 'destroy_worker', { worker: 'bw-1', force: false })).toMatch(/signature/);
  });
});

describe('provision limits', () => {
  const limits = { max_burst_workers: 5, provisions_per_hour: 4 };
  const now = 10 * HOUR_MS;
  it('allows within both limits', () => {
    expect(checkLimits(2, 3, [now - 1000], limits, now)).toEqual({ allowed: true });
  });
  it('refuses beyond max_burst_workers', () => {
    const v = checkLimits(3, 3, [], limits, now);
    expect(v).toMatchObject({ allowed: false, rule: 'max_burst_workers' });
  });
  it('refuses beyond provisions_per_hour and says when it is allowed again', () => {
    const starts = [now - 50 * 60_000, now - 40 * 60_000, now - 2 * HOUR_MS, now - 5 * 60_000];
    const v = checkLimits(2, 0, starts, limits, now);
    expect(v.allowed).toBe(false);
    if (v.allowed) return;
    expect(v.rule).toBe('provisions_per_hour');
    // three starts in the window + 2 > 4: the oldest in-window start must leave first
    expect(Date.parse(v.retry_at!)).toBe(now - 50 * 60_000 + HOUR_MS + 1000);
    expect(v.message).toContain(v.retry_at!);
    expect(checkLimits(5, 0, [], limits, now)).toMatchObject({ allowed: false, retry_at: null });
  });
});

describe('provision limiter', () => {
  const limits = { max_burst_workers: 3, provisions_per_hour: 100 };

  it('counts its own provisions before visibility shows them (back-to-back requests)', async () => {
    let now = 1_000_000;
    const reserved = new Map<string, string[] | null>();
    const limiter = createProvisionLimiter(
      limits,
      {
        activeBurstWorkers: async () => [], // visibility has not caught up with anything
        startsSince: async () => [],
        reservedNames: async (op) => reserved.get(op) ?? null,
      },
      () => now,
    );
    const started: string[] = [];
    const start = (op: string) => async () => {
      started.push(op);
      return { started: true, operationId: op };
    };
    await limiter.reserve(2, start('provision:a'));
    // names not reserved yet: the two workers still count
    await expect(limiter.reserve(2, start('provision:b'))).rejects.toMatchObject({
      code: ErrorCode.LimitExceeded,
      details: { rule: 'max_burst_workers' },
    });
    await limiter.reserve(1, start('provision:c'));
    expect(started).toEqual(['provision:a', 'provision:c']);
    await expect(limiter.reserve(1, start('provision:d'))).rejects.toMatchObject({
      code: ErrorCode.LimitExceeded,
    });
    // After the reservation window, only what the cluster and Temporal show counts.
    now += PENDING_RESERVATION_MS + 1;
    await limiter.reserve(3, start('provision:e'));
    expect(started).toEqual(['provision:a', 'provision:c', 'provision:e']);
  });

  it('does not count a worker twice once its name is visible', async () => {
    let visible = ['bw-a'];
    const names: Record<string, string[]> = { 'provision:x': ['bw-b'], 'provision:y': ['bw-c'] };
    const limiter = createProvisionLimiter(limits, {
      activeBurstWorkers: async () => visible,
      startsSince: async () => [],
      reservedNames: async (op) => names[op] ?? null,
    });
    await limiter.reserve(1, async () => ({ started: true, operationId: 'provision:x' }));
    visible = ['bw-a', 'bw-b']; // bw-b is now listed and reserved by provision:x: counted once
    await limiter.reserve(1, async () => ({ started: true, operationId: 'provision:y' }));
    // bw-a, bw-b and bw-c (reserved, not listed yet) make 3 = max_burst_workers
    await expect(
      limiter.reserve(1, async () => ({ started: true, operationId: 'provision:z' })),
    ).rejects.toMatchObject({ code: ErrorCode.LimitExceeded });
  });

  it('serializes concurrent requests so two cannot share the same headroom', async () => {
    let visible: string[] = [];
    const limiter = createProvisionLimiter(limits, {
      activeBurstWorkers: async () => visible,
      startsSince: async () => [],
    });
    const results = await Promise.allSettled([
      limiter.reserve(2, async () => {
        await new Promise((r) => setTimeout(r, 20));
        visible = ['bw-1', 'bw-2'];
        return { started: true };
      }),
      limiter.reserve(2, async () => ({ started: true })),
    ]);
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected']);
  });
});

describe('modes and audit', () => {
  const tool = (readOnlyHint: boolean, destructiveHint: boolean) => ({
    name: 't',
    config: {
      title: 't',
      description: 't',
      annotations: { readOnlyHint, destructiveHint, idempotentHint: true, openWorldHint: false },
    },
  });
  it('derives refusals from the annotations', () => {
    expect(modeRefusal(tool(true, false), { read_only: true, allow_destructive: false })).toBeNull();
    expect(modeRefusal(tool(false, false), { read_only: true, allow_destructive: true })).toMatch(
      /read_only/,
    );
    expect(modeRefusal(tool(false, true), { read_only: false, allow_destructive: false })).toMatch(
      /allow_destructive/,
    );
    expect(modeRefusal(tool(false, false), { read_only: false, allow_destructive: false })).toBeNull();
  });
  it('redacts secrets from audited arguments', () => {
    expect(redactArguments({ worker_id: 'bw-1', confirmation_token: 'abc', password: 'p' })).toEqual({
      worker_id: 'bw-1',
      confirmation_token: '[redacted]',
      password: '[redacted]',
    });
  });
  it('writes one JSON line per record to a file readable by its owner only', () => {
    const dir = mkdtempSync(join(tmpdir(), 'bwm-audit-'));
    try {
      const file = join(dir, 'audit.jsonl');
      const log = createAuditLog(file, { stdoutIsProtocol: false });
      const entry = {
        time: '2026-01-01T00:00:00.000Z',
        caller: 'token:ab12',
        tool: 'destroy_worker',
        arguments: redactArguments({ worker_id: 'bw-1', confirmation_token: 'secret-token' }),
        operation_id: 'destroy:bw-1:1',
        result: 'ok' as const,
      };
      log.record(entry);
      log.record({ ...entry, result: 'error', operation_id: null });
      const text = readFileSync(file, 'utf8');
      expect(text).not.toContain('secret-token');
      const lines = text.trimEnd().split('\n');
      expect(lines).toHaveLength(2);
      expect(JSON.parse(lines[0]!)).toEqual({ audit: true, ...entry });
      expect(JSON.parse(lines[1]!)).toMatchObject({ result: 'error', operation_id: null });
      expect(statSync(file).mode & 0o777).toBe(0o600);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
  it('a disabled audit log writes nothing', () => {
    const out = vi.spyOn(process.stdout, 'write');
    const err = vi.spyOn(process.stderr, 'write');
    try {
      createAuditLog('', { stdoutIsProtocol: false }).record({ tool: 'destroy_worker' } as never);
      expect(out).not.toHaveBeenCalled();
      expect(err).not.toHaveBeenCalled();
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });
  it('on stdio, where stdout carries the protocol, "stdout" goes to stderr', () => {
    const out = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    try {
      createAuditLog('stdout', { stdoutIsProtocol: true }).record({ tool: 'drain_worker' } as never);
      expect(out).not.toHaveBeenCalled();
      expect(JSON.parse(String(err.mock.calls[0]?.[0]))).toEqual({ audit: true, tool: 'drain_worker' });
    } finally {
      out.mockRestore();
      err.mockRestore();
    }
  });
});
