/**
 * Streamable HTTP transport on node:http, at path /mcp. One McpServer and one
 * transport per session. Guards run before the SDK sees a request: Host/Origin
 * (DNS rebinding), then the bearer token when one is configured.
 */
import { randomUUID } from 'node:crypto';
import {
  createServer as createHttpServer,
  type IncomingMessage,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import {
  bearerMatches,
  type GuardOptions,
  hostAllowed,
  isLoopbackHost,
  originAllowed,
  tokenId,
} from './http-guard.js';

export const MCP_PATH = '/mcp';
const MAX_BODY_BYTES = 1024 * 1024;

export interface HttpTransportOptions {
  host: string;
  port: number;
  allowedOrigins: readonly string[];
  /** Bearer token; undefined = no authentication (allowed only on loopback). */
  authToken: string | undefined;
  /** Name of the env var holding the token, for error messages. */
  authTokenEnv: string;
  newServer(): McpServer;
  log(line: string): void;
}

export interface RunningHttpServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

export class StartupError extends Error {}

interface Session {
  transport: StreamableHTTPServerTransport;
  server: McpServer;
}

function reply(
  res: ServerResponse,
  status: number,
  message: string,
  headers: Record<string, string> = {},
): void {
  if (res.headersSent) return;
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32000, message }, id: null }));
}

async function readJson(
  req: IncomingMessage,
): Promise<{ ok: true; body: unknown } | { ok: false; status: number; message: string }> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) return { ok: false, status: 413, message: 'request body too large' };
    chunks.push(chunk as Buffer);
  }
  try {
    return { ok: true, body: JSON.parse(Buffer.concat(chunks).toString('utf8')) };
  } catch {
    return { ok: false, status: 400, message: 'Parse error: body is not valid JSON' };
  }
}

export async function startHttpTransport(opts: HttpTransportOptions): Promise<RunningHttpServer> {
  if (!isLoopbackHost(opts.host) && !opts.authToken) {
    throw new StartupError(
      `refusing to listen on ${opts.host} without authentication: set the bearer token in $${opts.authTokenEnv} (mcp.auth_token_env) or bind to 127.0.0.1`,
    );
  }
  const sessions = new Map<string, Session>();
  const guard: GuardOptions = { bindHost: opts.host, port: opts.port, allowedOrigins: opts.allowedOrigins };
  const authId = opts.authToken ? `token:${tokenId(opts.authToken)}` : 'http:anonymous';

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://localhost');
    if (url.pathname !== MCP_PATH) return reply(res, 404, `not found; the MCP endpoint is ${MCP_PATH}`);
    if (!hostAllowed(req.headers.host, guard)) return reply(res, 403, 'Forbidden: Host header not allowed');
    if (!originAllowed(req.headers.origin, guard)) return reply(res, 403, 'Forbidden: Origin not allowed');
    if (opts.authToken !== undefined && !bearerMatches(req.headers.authorization, opts.authToken)) {
      const hasHeader = req.headers.authorization !== undefined;
      return reply(res, 401, 'Unauthorized: a valid bearer token is required', {
        'www-authenticate': hasHeader
          ? 'Bearer realm="burst-workers-mcp", error="invalid_token"'
          : 'Bearer realm="burst-workers-mcp"',
      });
    }
    (req as IncomingMessage & { auth?: unknown }).auth = { token: authId, clientId: authId, scopes: [] };

    const sessionHeader = req.headers['mcp-session-id'];
    const sessionId = Array.isArray(sessionHeader) ? sessionHeader[0] : sessionHeader;

    if (req.method === 'POST') {
      const parsed = await readJson(req);
      if (!parsed.ok) return reply(res, parsed.status, parsed.message);
      if (sessionId) {
        const session = sessions.get(sessionId);
        if (!session) return reply(res, 404, 'Session not found');
        return session.transport.handleRequest(req, res, parsed.body);
      }
      if (!isInitializeRequest(parsed.body)) {
        return reply(res, 400, 'Bad Request: no Mcp-Session-Id and not an initialize request');
      }
      const server = opts.newServer();
      const transport = new StreamableHTTPServerTransport({
        sessionIdGenerator: () => randomUUID(),
        onsessioninitialized: (id) => {
          sessions.set(id, { transport, server });
        },
      });
      transport.onclose = () => {
        if (transport.sessionId) sessions.delete(transport.sessionId);
        void server.close().catch(() => undefined);
      };
      await server.connect(transport);
      return transport.handleRequest(req, res, parsed.body);
    }
    if (req.method === 'GET' || req.method === 'DELETE') {
      const session = sessionId ? sessions.get(sessionId) : undefined;
      if (!session)
        return reply(
          res,
          sessionId ? 404 : 400,
          sessionId ? 'Session not found' : 'Bad Request: Mcp-Session-Id required',
        );
      return session.transport.handleRequest(req, res);
    }
    return reply(res, 405, 'Method not allowed', { allow: 'GET, POST, DELETE' });
  }

  const http: Server = createHttpServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      opts.log(`mcp http: ${err instanceof Error ? err.message : String(err)}`);
      reply(res, 500, 'Internal server error');
    });
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new StartupError(`port ${opts.port} on ${opts.host} is already in use (mcp.port / MCP_PORT)`));
      } else if (err.code === 'EACCES' || err.code === 'EADDRNOTAVAIL') {
        reject(
          new StartupError(`cannot listen on ${opts.host}:${opts.port}: ${err.code} (mcp.host / mcp.port)`),
        );
      } else {
        reject(err);
      }
    };
    http.once('error', onError);
    http.listen(opts.port, opts.host, () => {
      http.off('error', onError);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  guard.port = port;
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  const url = `http://${hostForUrl}:${port}${MCP_PATH}`;
  return {
    url,
    port,
    async close() {
      for (const s of sessions.values()) await s.transport.close().catch(() => undefined);
      sessions.clear();
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}
