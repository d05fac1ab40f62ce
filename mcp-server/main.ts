/**
 * The MCP server process.
 *   node --import tsx mcp-server/main.ts [--stdio | --http] [--config FILE]
 * Config: --config, else $WORKER_CONFIG, else config/worker-config.yaml when it exists,
 * else the defaults. Transport: the flag, else mcp.transport.
 * Exit codes: 0 on a signal, 2 on a configuration or startup error (one line, no stack).
 */
import { existsSync, readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { type Config, parseConfig } from '../core/config.js';
import { isWorkerError } from '../core/errors.js';
import { buildDeps } from './app.js';
import { createServer } from './server.js';
import { StartupError, startHttpTransport } from './transports/http.js';
import { startStdioTransport } from './transports/stdio.js';

export const DEFAULT_CONFIG_PATH = 'config/worker-config.yaml';

function loadConfig(path: string | undefined, env: NodeJS.ProcessEnv): Config {
  const file = path ?? env.WORKER_CONFIG ?? DEFAULT_CONFIG_PATH;
  const explicit = path !== undefined || env.WORKER_CONFIG !== undefined;
  if (!existsSync(file)) {
    if (explicit) throw new StartupError(`config file ${file} does not exist`);
    return parseConfig('', env, 'defaults');
  }
  return parseConfig(readFileSync(file, 'utf8'), env, file);
}

function fail(message: string): never {
  process.stderr.write(`burst-workers-mcp: ${message}\n`);
  process.exit(2);
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      stdio: { type: 'boolean', default: false },
      http: { type: 'boolean', default: false },
      config: { type: 'string' },
    },
    allowPositionals: true,
  });
  const config = loadConfig(values.config, process.env);
  const transport = values.stdio ? 'stdio' : values.http ? 'http' : config.mcp.transport;
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const deps = buildDeps(config, process.env, transport);

  let close: () => Promise<void>;
  if (transport === 'stdio') {
    const { server } = createServer(deps);
    const running = await startStdioTransport(server);
    close = running.close;
    process.stdin.on('end', () => void shutdown());
  } else {
    const tokenEnv = config.mcp.auth_token_env;
    const token = tokenEnv ? process.env[tokenEnv] : undefined;
    const running = await startHttpTransport({
      host: config.mcp.host,
      port: config.mcp.port,
      allowedOrigins: config.mcp.allowed_origins,
      authToken: token && token.length > 0 ? token : undefined,
      authTokenEnv: tokenEnv,
      newServer: () => createServer(deps).server,
      log,
    });
    close = running.close;
    log(`MCP endpoint: ${running.url}`);
  }

  let stopping = false;
  async function shutdown(): Promise<void> {
    if (stopping) return;
    stopping = true;
    await close().catch(() => undefined);
    await deps.close().catch(() => undefined);
    process.exit(0);
  }
  process.on('SIGINT', () => void shutdown());
  process.on('SIGTERM', () => void shutdown());
}

main().catch((err: unknown) => {
  if (err instanceof StartupError || isWorkerError(err)) fail(err.message);
  fail(err instanceof Error ? `unexpected error: ${err.message}` : String(err));
});
