/**
 * Tool results: structured content plus a readable text rendering, and errors that
 * name their ErrorCode in the text and carry `{ error: { code, message, ... } }`.
 */
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { ErrorCode, isWorkerError } from '../core/errors.js';

export function toolSuccess(structured: Record<string, unknown>, text: string): CallToolResult {
  return { content: [{ type: 'text', text }], structuredContent: structured };
}

export interface ToolErrorBody {
  code: string;
  message: string;
  [key: string]: unknown;
}

/** Where a tool error's structured body travels (see toolFailure). */
export const ERROR_META_KEY = 'burst-workers.io/error';

/**
 * An error result: the text starts with the ErrorCode; the structured body goes in
 * `_meta`, not `structuredContent`, because SDK clients validate structuredContent
 * against the tool's output schema even when isError is set.
 */
export function toolFailure(error: ToolErrorBody): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text: `${error.code}: ${error.message}` }],
    _meta: { [ERROR_META_KEY]: error },
  };
}

/** The structured error of a tool result, if it is one of ours. */
export function toolErrorOf(result: CallToolResult): ToolErrorBody | undefined {
  const body = result._meta?.[ERROR_META_KEY];
  return body && typeof body === 'object' ? (body as ToolErrorBody) : undefined;
}

/** Maps anything thrown by a handler to a tool error; unknown errors keep their message only. */
export function errorToToolResult(err: unknown): CallToolResult {
  if (isWorkerError(err)) {
    return toolFailure({ code: err.code, message: err.message, ...(err.details ?? {}) });
  }
  const message = err instanceof Error ? err.message : String(err);
  return toolFailure({ code: 'InternalError', message });
}

export { ErrorCode };
