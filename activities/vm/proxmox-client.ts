/**
 * A small Proxmox VE REST client: API token auth, form-encoded requests, JSON answers,
 * error classification (retryable vs not), and task (UPID) waiting.
 * The token is sent in a header and never logged or put in an error message.
 */
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { sleep } from './common.js';
import { VmProviderError } from './provider.js';

export interface ProxmoxClientOptions {
  /** `https://host:8006/api2/json`. */
  apiUrl: string;
  /** `USER@REALM!TOKENID=SECRET`. */
  token: string;
  verifyTls: boolean;
  /** PEM CA bundle trusted for the API's certificate (self-signed PVE installs). */
  ca?: string;
  requestTimeoutMs: number;
}

/** An answer of the API that is not 2xx; `status` 0 = no answer (network error, timeout). */
export class ProxmoxApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errors?: Record<string, string>,
  ) {
    super(message);
    this.name = 'ProxmoxApiError';
  }

  get notFound(): boolean {
    return /does not exist|no such (vm|task)/i.test(this.message);
  }
  get alreadyExists(): boolean {
    return /already exists/i.test(this.message);
  }
  get locked(): boolean {
    return /is locked|can't lock file|got timeout/i.test(this.message);
  }
  /** Whether repeating the same request later may succeed. */
  get retryable(): boolean {
    // A certificate that does not verify is a configuration problem (ca_file, verify_tls).
    if (this.status === 0) return !/certificate|CERT_|self[- ]signed/i.test(this.message);
    if (this.status === 401 || this.status === 403 || this.status === 400 || this.status === 501)
      return false;
    if (/no such cluster node|protection mode enabled|not supported|you can't/i.test(this.message))
      return false;
    return this.status >= 500 || this.status === 429 || this.status === 408;
  }

  toProviderError(context: string): VmProviderError {
    const detail = this.errors ? ` ${JSON.stringify(this.errors)}` : '';
    const why = this.status === 401 || this.status === 403 ? ' (check the API token and its privileges)' : '';
    return new VmProviderError(
      `Proxmox ${context}: ${this.status || 'no answer'} ${this.message}${detail}${why}`,
      {
        retryable: this.retryable,
        details: { status: this.status },
      },
    );
  }
}

export type Params = Record<string, string | number | boolean | undefined>;

export class ProxmoxClient {
  private readonly base: URL;
  private readonly agent: HttpsAgent | undefined;

  constructor(private readonly opts: ProxmoxClientOptions) {
    this.base = new URL(opts.apiUrl.replace(/\/+$/, ''));
    if (this.base.protocol === 'https:') {
      this.agent = new HttpsAgent({
        keepAlive: true,
        rejectUnauthorized: opts.verifyTls,
        ...(opts.ca ? { ca: opts.ca } : {}),
      });
    }
  }

  close(): void {
    this.agent?.destroy();
  }

  async call<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, params: Params = {}): Promise<T> {
    const form = new URLSearchParams();
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined) form.set(k, typeof v === 'boolean' ? (v ? '1' : '0') : String(v));
    }
    const url = new URL(this.base.href + path);
    let body: string | undefined;
    if (method === 'GET' || method === 'DELETE') {
      for (const [k, v] of form) url.searchParams.set(k, v);
    } else {
      body = form.toString();
    }
    const headers: Record<string, string> = {
      authorization: `PVEAPIToken=${this.opts.token}`,
      accept: 'application/json',
    };
    if (body !== undefined) {
      headers['content-type'] = 'application/x-www-form-urlencoded';
      headers['content-length'] = String(Buffer.byteLength(body));
    }
    const res = await new Promise<{ status: number; reason: string; text: string }>((resolve, reject) => {
      const send = url.protocol === 'https:' ? httpsRequest : httpRequest;
      const req = send(
        url,
        { method, headers, ...(this.agent ? { agent: this.agent } : {}) },
        (r: IncomingMessage) => {
          let text = '';
          r.setEncoding('utf8');
          r.on('data', (c: string) => {
            text += c;
          });
          r.on('end', () => resolve({ status: r.statusCode ?? 0, reason: r.statusMessage ?? '', text }));
          r.on('error', reject);
        },
      );
      req.setTimeout(this.opts.requestTimeoutMs, () => req.destroy(new Error('request timed out')));
      req.on('error', reject);
      req.end(body);
    }).catch((err: unknown) => {
      const msg = err instanceof Error ? err.message : String(err);
      throw new ProxmoxApiError(0, `${method} ${path}: ${msg}`);
    });
    let parsed: { data?: unknown; message?: string; errors?: Record<string, string> } = {};
    try {
      parsed = res.text ? (JSON.parse(res.text) as typeof parsed) : {};
    } catch {
      // pveproxy answers some errors with an empty or non-JSON body; the reason phrase holds the message
    }
    if (res.status < 200 || res.status >= 300) {
      const message = (parsed.message ?? res.reason ?? '').trim() || `HTTP ${res.status}`;
      throw new ProxmoxApiError(res.status, message, parsed.errors);
    }
    return parsed.data as T;
  }

  /** GETs are safe to repeat: a few quick retries hide single transient failures. */
  async get<T>(path: string, params: Params = {}, attempts = 4): Promise<T> {
    for (let i = 1; ; i++) {
      try {
        return await this.call<T>('GET', path, params);
      } catch (err) {
        if (!(err instanceof ProxmoxApiError) || !err.retryable || err.locked || i >= attempts) throw err;
        await sleep(50 * 2 ** i);
      }
    }
  }

  /**
   * Waits for a task (`UPID:node:…`) to stop. Resolves on exit status OK (or WARNINGS),
   * throws a ProxmoxApiError carrying the task's exit status otherwise.
   */
  async waitTask(upid: string, timeoutMs: number, pollMs = 100): Promise<void> {
    const node = upid.split(':')[1] ?? '';
    const deadline = Date.now() + timeoutMs;
    let delay = pollMs;
    for (;;) {
      const st = await this.get<{ status: string; exitstatus?: string }>(
        `/nodes/${encodeURIComponent(node)}/tasks/${encodeURIComponent(upid)}/status`,
        {},
        8,
      );
      if (st.status === 'stopped') {
        const exit = st.exitstatus ?? '';
        if (exit === 'OK' || exit.startsWith('WARNINGS')) return;
        throw new ProxmoxApiError(500, exit || 'task failed');
      }
      if (Date.now() > deadline)
        throw new ProxmoxApiError(0, `task ${upid} still running after ${timeoutMs} ms`);
      await sleep(delay);
      delay = Math.min(delay * 2, 2000);
    }
  }
}
