/**
 * Confirmation tokens for destructive calls when the client cannot elicit: a dry run
 * returns a short-lived HMAC-signed token bound to the tool, the worker and the
 * options; the real call must carry it. Tokens are single-use.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface ConfirmationTokens {
  issue(action: string, subject: Record<string, unknown>): { token: string; expires_at: string };
  /** Returns null when valid (and consumes it), else the reason it is not. */
  verify(token: string, action: string, subject: Record<string, unknown>): string | null;
}

function canonical(action: string, subject: Record<string, unknown>): string {
  const keys = Object.keys(subject).sort();
  return JSON.stringify([action, keys.map((k) => [k, subject[k]])]);
}

export function createConfirmationTokens(opts: {
  secret?: string | undefined;
  ttlSeconds: number;
  now?: () => number;
}): ConfirmationTokens {
  const secret = opts.secret && opts.secret.length > 0 ? Buffer.from(opts.secret) : randomBytes(32);
  const now = opts.now ?? Date.now;
  const used = new Map<string, number>();
  const sign = (body: string) => createHmac('sha256', secret).update(body).digest('base64url');

  return {
    issue(action, subject) {
      const exp = now() + opts.ttlSeconds * 1000;
      const nonce = randomBytes(9).toString('base64url');
      const body = Buffer.from(JSON.stringify({ c: canonical(action, subject), exp, nonce })).toString(
        'base64url',
      );
      return { token: `${body}.${sign(body)}`, expires_at: new Date(exp).toISOString() };
    },
    verify(token, action, subject) {
      const [body, mac, extra] = token.split('.');
      if (!body || !mac || extra !== undefined) return 'the confirmation token is malformed';
      const expected = Buffer.from(sign(body));
      const given = Buffer.from(mac);
      if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
        return 'the confirmation token is not valid (bad signature)';
      }
      let payload: { c?: unknown; exp?: unknown; nonce?: unknown };
      try {
        payload = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as typeof payload;
      } catch {
        return 'the confirmation token is malformed';
      }
      const t = now();
      for (const [n, exp] of used) if (exp < t) used.delete(n);
      if (typeof payload.exp !== 'number' || payload.exp < t) return 'the confirmation token has expired';
      if (payload.c !== canonical(action, subject)) {
        return 'the confirmation token was issued for a different worker or different options';
      }
      if (typeof payload.nonce !== 'string' || used.has(payload.nonce)) {
        return 'the confirmation token was already used';
      }
      used.set(payload.nonce, payload.exp);
      return null;
    },
  };
}
