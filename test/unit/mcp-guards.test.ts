/** Pure guards of the MCP server: HTTP Host/Origin/bearer checks, confirmation tokens, provision limits. */
import { describe, expect, it } from 'vitest';
import { createAuditLog } from '../../mcp-server/audit.js';
import { createConfirmationTokens } from '../../mcp-server/confirmation.js';
import { checkLimits, HOUR_MS } from '../../mcp-server/rate-limit.js';
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
  it('a disabled audit log writes nothing', () => {
    expect(() => createAuditLog('', { stdoutIsProtocol: false }).record({} as never)).not.toThrow();
  });
});
