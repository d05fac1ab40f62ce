/**
 * `npm start` end to end (issue 2): the local stack comes up on the embedded defaults,
 * prints its three lines, serves list_workers over Streamable HTTP, stops cleanly on
 * Ctrl-C and resumes with the same data; bad config and busy ports fail with one clear
 * line and start nothing.
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Connection, WorkflowClient } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, isListening } from '../../sandbox/process.js';
import { toolsBin } from '../support/stack.js';

const REPO = new URL('../../', import.meta.url).pathname;

interface Started {
  child: ChildProcess;
  stdout: () => string;
  stderr: () => string;
  exited: Promise<number | null>;
}

function startStack(env: NodeJS.ProcessEnv): Started {
  const child = spawn(process.execPath, ['--import', 'tsx', 'sandbox/start.ts'], {
    cwd: REPO,
    env: { ...process.env, BURST_TOOLS_BIN: toolsBin(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (c: Buffer) => {
    out += c.toString();
  });
  child.stderr?.on('data', (c: Buffer) => {
    err += c.toString();
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, stdout: () => out, stderr: () => err, exited };
}

async function waitForLines(s: Started, timeoutMs: number): Promise<Record<string, string>> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const out = s.stdout();
    const mcp = /^MCP endpoint: (http:\/\/127\.0\.0\.1:\d+\/mcp)$/m.exec(out)?.[1];
    const ui = /^Temporal UI: (http:\/\/127\.0\.0\.1:\d+)$/m.exec(out)?.[1];
    const kube = /^Kubeconfig: (\S+)$/m.exec(out)?.[1];
    if (mcp && ui && kube) return { mcp, ui, kube };
    if (s.child.exitCode !== null) throw new Error(`npm start exited early: ${s.stderr()}`);
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`npm start did not print its three lines in time: ${s.stderr()}`);
}

function expectOneLineError(stderr: string): void {
  expect(stderr).not.toMatch(/\n\s+at .+:\d+:\d+/); // no stack trace
}

describe('npm start fails clearly', () => {
  it('names the key path of a broken config file and starts nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bwm-start-'));
    const file = join(dir, 'broken.yaml');
    writeFileSync(file, 'drain:\n  timeout_seconds: soon\n');
    const temporalPort = await freePort();
    const s = startStack({ WORKER_CONFIG: file, BURST_DATA_DIR: dir, TEMPORAL_PORT: String(temporalPort) });
    expect(await s.exited).toBe(1);
    expect(s.stderr()).toContain(`${file}: drain.timeout_seconds:`);
    expectOneLineError(s.stderr());
    expect(await isListening(temporalPort)).toBe(false);
    rmSync(dir, { recursive: true, force: true });
  });

  it('says which port is in use and starts nothing', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bwm-start-'));
    const busy: Server = createServer();
    const port = await freePort();
    await new Promise<void>((r) => busy.listen(port, '127.0.0.1', r));
    const temporalPort = await freePort();
    try {
      const s = startStack({
        BURST_DATA_DIR: dir,
        TEMPORAL_PORT: String(temporalPort),
        MCP_PORT: String(port),
      });
      expect(await s.exited).toBe(1);
      expect(s.stderr()).toContain(`port ${port} on 127.0.0.1 (MCP server) is already in use`);
      expectOneLineError(s.stderr());
      expect(await isListening(temporalPort)).toBe(false);
    } finally {
      busy.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('npm start on the embedded defaults', () => {
  let dir: string;
  let env: NodeJS.ProcessEnv;
  let ports: { temporal: number; ui: number; mcp: number };

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'bwm-start-'));
    ports = { temporal: await freePort(), ui: await freePort(), mcp: await freePort() };
    env = {
      BURST_DATA_DIR: dir,
      TEMPORAL_PORT: String(ports.temporal),
      TEMPORAL_UI_PORT: String(ports.ui),
      MCP_PORT: String(ports.mcp),
    };
  });
  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('prints its lines, serves the seeded cluster, stops on Ctrl-C and resumes with the same data', async () => {
    const first = startStack(env);
    try {
      const lines = await waitForLines(first, 300_000);
      expect(lines.mcp).toBe(`http://127.0.0.1:${ports.mcp}/mcp`);
      expect(lines.ui).toBe(`http://127.0.0.1:${ports.ui}`);

      // kubectl lists the seeded nodes.
      const kubectl = join(toolsBin(), 'kubectl');
      const nodes = execFileSync(kubectl, ['--kubeconfig', lines.kube!, 'get', 'nodes', '-o', 'name'], {
        encoding: 'utf8',
      });
      for (const n of ['control-plane-0', 'permanent-worker-1', 'worker-1', 'worker-3']) {
        expect(nodes).toContain(`node/${n}`);
      }

      // The Temporal UI answers.
      expect((await fetch(lines.ui!)).status).toBe(200);

      // An MCP client lists the tools and list_workers returns the nodes with type and status.
      const client = new Client({ name: 'stack-test', version: '1.0.0' });
      await client.connect(new StreamableHTTPClientTransport(new URL(lines.mcp!)));
      const tools = await client.listTools();
      expect(tools.tools.map((t) => t.name)).toContain('list_workers');
      const result = await client.callTool({ name: 'list_workers', arguments: {} });
      const workers = (
        result.structuredContent as { workers: Array<{ name: string; type: string; status: string }> }
      ).workers;
      const byName = new Map(workers.map((w) => [w.name, w]));
      expect(byName.get('control-plane-0')?.type).toBe('permanent');
      // Carries worker-type=burst but not this system's ownership marks: permanent.
      expect(byName.get('worker-3')?.type).toBe('permanent');
      for (const w of workers)
        expect(['ready', 'busy', 'draining', 'cordoned', 'not_ready']).toContain(w.status);
      await client.close();

      // Leave a mark in both stores, to find it after the restart.
      execFileSync(kubectl, ['--kubeconfig', lines.kube!, 'create', 'namespace', 'resume-marker']);
      const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
      await new WorkflowClient({ connection }).start('noSuchWorkflowType', {
        taskQueue: 'resume-marker',
        workflowId: 'resume-marker',
        args: [],
      });
      await connection.close();
    } finally {
      first.child.kill('SIGINT');
    }
    expect(await first.exited).toBe(0);
    expect(first.stderr()).toContain('[stack] stopped');
    for (const port of Object.values(ports)) expect(await isListening(port)).toBe(false);

    const second = startStack(env);
    try {
      const lines = await waitForLines(second, 300_000);
      const kubectl = join(toolsBin(), 'kubectl');
      const ns = execFileSync(
        kubectl,
        ['--kubeconfig', lines.kube!, 'get', 'namespace', 'resume-marker', '-o', 'name'],
        {
          encoding: 'utf8',
        },
      );
      expect(ns.trim()).toBe('namespace/resume-marker');
      const connection = await Connection.connect({ address: `127.0.0.1:${ports.temporal}` });
      const described = await new WorkflowClient({ connection }).getHandle('resume-marker').describe();
      expect(described.type).toBe('noSuchWorkflowType');
      await connection.close();
    } finally {
      second.child.kill('SIGINT');
    }
    expect(await second.exited).toBe(0);
  }, 900_000);
});
