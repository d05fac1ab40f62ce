#!/usr/bin/env node
// burst-workers-mcp mcp [--stdio|--http] [--config FILE]: runs the MCP server (stdio by default,
// which is what desktop MCP clients spawn). `burst-workers-mcp mcp --http` serves Streamable HTTP.
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const [command, ...rest] = process.argv.slice(2);

if (command !== 'mcp') {
  process.stderr.write('usage: burst-workers-mcp mcp [--stdio | --http] [--config FILE]\n');
  process.exit(command === undefined || command === '--help' || command === '-h' ? 0 : 2);
}

const args = rest.includes('--http') || rest.includes('--stdio') ? rest : ['--stdio', ...rest];
const built = join(root, 'dist', 'mcp-server', 'main.js');
const nodeArgs = existsSync(built)
  ? [built, ...args]
  : ['--import', import.meta.resolve('tsx'), join(root, 'mcp-server', 'main.ts'), ...args];

const child = spawn(process.execPath, nodeArgs, { stdio: 'inherit', cwd: process.cwd() });
for (const signal of ['SIGINT', 'SIGTERM']) process.on(signal, () => child.kill(signal));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
