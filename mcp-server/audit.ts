/**
 * Audit log: one JSON line per mutating call (time, caller, tool, arguments,
 * operation id, result). Arguments are redacted before they get here.
 */
import { appendFileSync } from 'node:fs';

export interface AuditRecord {
  time: string;
  caller: string;
  tool: string;
  arguments: unknown;
  operation_id: string | null;
  result: 'ok' | 'error';
  [key: string]: unknown;
}

export interface AuditLog {
  record(entry: AuditRecord): void;
}

/**
 * `target`: `stdout`, `stderr`, a file path, or empty to disable. On the stdio
 * transport stdout carries the protocol, so `stdout` is sent to stderr there.
 */
export function createAuditLog(target: string, opts: { stdoutIsProtocol: boolean }): AuditLog {
  if (target === '') return { record: () => undefined };
  const write =
    target === 'stderr' || (target === 'stdout' && opts.stdoutIsProtocol)
      ? (line: string) => process.stderr.write(line)
      : target === 'stdout'
        ? (line: string) => process.stdout.write(line)
        : (line: string) => appendFileSync(target, line, { mode: 0o600 });
  return {
    record(entry) {
      write(`${JSON.stringify({ audit: true, ...entry })}\n`);
    },
  };
}

/** An in-memory audit log for tests. */
export function memoryAuditLog(): AuditLog & { entries: AuditRecord[] } {
  const entries: AuditRecord[] = [];
  return { entries, record: (e) => entries.push(e) };
}
