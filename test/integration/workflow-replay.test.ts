/**
 * Determinism guard: histories recorded from real runs (test/fixtures/histories, written
 * by the workflow suites with BURST_RECORD_HISTORIES=1) are replayed against the current
 * workflow code. A change that would break running workflows fails here.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DefaultLogger, Runtime, Worker } from '@temporalio/worker';
import { describe, expect, it } from 'vitest';
import { WorkflowType } from '../../core/operations.js';
import { testWorkflowBundle } from '../support/worker-process.js';

/**
 * Proto3 JSON (as written by `temporal workflow show --output json`) → History. Parsed with
 * the protobufjs copy that @temporalio/proto itself uses: in this install each @temporalio
 * package nests its own protobufjs, and the SDK's historyFromJSON then fails its
 * `instanceof Type` check ("type must be a Type").
 */
const protoRequire = createRequire(createRequire(import.meta.url).resolve('@temporalio/proto'));
const { fromJson } = protoRequire('protobufjs/ext/protojson') as {
  fromJson(type: unknown, json: unknown, opts: { ignoreUnknownFields: boolean }): unknown;
};
const { patchProtobufRoot } = protoRequire('@temporalio/proto/lib/patch-protobuf-root') as {
  patchProtobufRoot(root: unknown): { lookupType(name: string): unknown };
};
const historyType = patchProtobufRoot(protoRequire('@temporalio/proto')).lookupType(
  'temporal.api.history.v1.History',
);

function loadHistory(file: string): unknown {
  return fromJson(historyType, JSON.parse(readFileSync(join(DIR, file), 'utf8')), {
    ignoreUnknownFields: true,
  });
}

const DIR = fileURLToPath(new URL('../fixtures/histories', import.meta.url));
const files = readdirSync(DIR).filter((f) => f.endsWith('.json'));

function workflowTypeOf(file: string): string {
  const history = JSON.parse(readFileSync(join(DIR, file), 'utf8')) as {
    events: Array<{ workflowExecutionStartedEventAttributes?: { workflowType?: { name?: string } } }>;
  };
  return history.events[0]?.workflowExecutionStartedEventAttributes?.workflowType?.name ?? '';
}

describe('replay of recorded histories', () => {
  it('has a recorded history for every workflow type', () => {
    const types = new Set(files.map(workflowTypeOf));
    for (const type of Object.values(WorkflowType)) expect(types, `history of ${type}`).toContain(type);
  });

  it('replays every recorded history without a determinism error', async () => {
    try {
      Runtime.install({ logger: new DefaultLogger('WARN') });
    } catch {
      // already installed in this process
    }
    const bundlePath = await testWorkflowBundle();
    const histories = files.map((file) => ({
      workflowId: file,
      history: loadHistory(file),
    }));
    const failures: string[] = [];
    let replayed = 0;
    for await (const result of Worker.runReplayHistories(
      { workflowBundle: { codePath: bundlePath } },
      histories,
    )) {
      replayed++;
      if (result.error) failures.push(`${result.workflowId}: ${result.error.message}`);
    }
    expect(failures).toEqual([]);
    expect(replayed).toBe(files.length);
  });
});
