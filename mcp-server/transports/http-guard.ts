/**
 * Request guards of the HTTP transport: DNS-rebinding protection (Host and Origin)
 * and bearer-token authentication compared in constant time.
 */
import { createHash, timingSafeEqual } from 'node:crypto';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);

export function isLoopbackHost(host: string): boolean {
  return LOOPBACK_HOSTS.has(host) || /^127\.\d+\.\d+\.\d+$/.test(host);
}

/** Splits a Host header into name and port: `[::1]:8765` → `[::1]`, `8765`. */
function splitHost(value: string): { name: string; port: string } {
  const m = /^(\[[^\]]+\]|[^:]+)(?::(\d+))?$/.exec(value.trim().toLowerCase());
  return m ? { name: m[1]!, port: m[2] ?? '' } : { name: '', port: '' };
}

export interface GuardOptions {
  /** The address the server is bound to (config.mcp.host). */
  bindHost: string;
  port: number;
  /** Extra allowed origins (config.mcp.allowed_origins), exact `scheme://host[:port]`. */
  allowedOrigins: readonly string[];
}

/** Host must name this server: a loopback name, or the configured bind host. */
export function hostAllowed(hostHeader: string | undefined, opts: GuardOptions): boolean {
  if (!hostHeader) return false;
  const { name, port } = splitHost(hostHeader);
  if (port !== '' && port !== String(opts.port)) return false;
  if (isLoopbackHost(name)) return true;
  const bind = opts.bindHost.toLowerCase();
  if (bind !== '0.0.0.0' && bind !== '::' && name === bind) return true;
  // Bound to all interfaces: any Host naming a configured origin's host is accepted.
  return opts.allowedOrigins.some((o) => {
    try {
      return new URL(o).hostname.toLowerCase() === name;
    } catch {
      return false;
    }
  });
}

/** No Origin (non-browser clients) is fine; a browser Origin must be loopback or listed. */
export function originAllowed(origin: string | undefined, opts: GuardOptions): boolean {
  if (origin === undefined) return true;
  if (opts.allowedOrigins.includes(origin)) return true;
  try {
    const url = new URL(origin);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') return false;
    return isLoopbackHost(url.hostname.toLowerCase());
  } catch {
    return false;
  }
}

/** A short, non-secret id of a token for logs: the first 12 hex of its SHA-256. */
export function tokenId(token: string): string {
  return createHash('sha256').update(token).digest('hex').slice(0, 12);
}

/** Constant-time check of `Authorization: Bearer <token>` (digests equalize lengths). */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  const m = /^Bearer\s+(.+)$/i.exec(header ?? '');
  const given = m ? m[1]!.trim() : '';
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b) && given.length > 0;
}
