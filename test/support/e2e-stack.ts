/**
 * End-to-end support for the MCP server: a config file for one suite, the server as a
 * child process over Streamable HTTP (`node --import tsx mcp-server/main.ts --http`) or
 * over stdio through the package's bin (`burst-workers-mcp mcp`), and SDK clients.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import type { Config } from '../../core/config.js';
import { type ToolErrorBody, toolErrorOf } from '../../mcp-server/tool-result.js';
import { dataDir, uniqueName } from './stack.js';

export const REPO_ROOT = fileURLToPath(new URL('../..', import.meta.url));

/** Writes the config as a JSON file (valid YAML) and returns its path. */
export function writeMcpConfig(config: Config, overrides: Partial<Config['mcp']> = {}): string {
  const dir = join(dataDir(), 'mcp-e2e');
  mkdirSync(dir, { recursive: true });
  const file = join(dir, `${uniqueName('mcp-config')}.json`);
  writeFileSync(file, JSON.stringify({ ...config, mcp: { ...config.mcp, port: 0, ...overrides } }));
  return file;
}

export interface HttpServerProcess {
  url: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts the HTTP server and waits for its `MCP endpoint:` line. */
export async function startHttpMcpServer(
  configFile: string,
  env: Record<string, string> = {},
  timeoutMs = 120_000,
): Promise<HttpServerProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', 'mcp-server/main.ts', '--http'], {
    cwd: REPO_ROOT,
    env: { ...process.env, WORKER_CONFIG: configFile, MCP_AUTH_TOKEN: '', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`MCP server did not start in time:\n${out}`)), timeoutMs);
    const check = () => {
      const m = /^MCP endpoint: (http:\/\/\S+)$/m.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    };
    child.stderr?.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`MCP server exited (${code}):\n${out}`));
    });
  });
  return {
    url,
    child,
    output: () => out,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

export async function httpClient(url: string, token?: string): Promise<Client> {
  const client = new Client({ name: 'e2e-http', version: '1.0.0' });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(url), {
      ...(token ? { requestInit: { headers: { authorization: `Bearer ${token}` } } } : {}),
    }),
  );
  return client;
}

/** A client of `burst-workers-mcp mcp` (the package bin, as desktop clients run it). */
export async function stdioClient(configFile: string): Promise<{ client: Client; stderr(): string }> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [join(REPO_ROOT, 'bin/burst-workers-mcp.mjs'), 'mcp'],
    cwd: REPO_ROOT,
    env: { ...(process.env as Record<string, string>), WORKER_CONFIG: configFile },
    stderr: 'pipe',
  });
  let err = '';
  transport.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const client = new Client({ name: 'e2e-stdio', version: '1.0.0' });
  await client.connect(transport);
  return { client, stderr: () => err };
}

export async function callTool(
  client: Client,
  name: string,
  args: Record<string, unknown>,
): Promise<CallToolResult> {
  return (await client.callTool({ name, arguments: args }, undefined, {
    timeout: 120_000,
  })) as CallToolResult;
}

export function structured<T>(r: CallToolResult): T {
  if (r.isError) throw new Error(`tool error: ${JSON.stringify(r.content)}`);
  return r.structuredContent as T;
}

export function errorOf(r: CallToolResult): ToolErrorBody | undefined {
  return toolErrorOf(r);
}
