/**
 * Registers tools on an McpServer and dispatches their calls. The SDK lists the tools
 * (JSON Schema from the zod schemas); calls go through `dispatch` so that every error
 * carries an ErrorCode, modes are enforced, and mutating calls are audited.
 *
 * Modes are derived from the annotations, never from a separate list:
 * - read_only: every tool whose readOnlyHint is false is neither listed nor callable;
 * - allow_destructive=false: every tool whose destructiveHint is true is neither listed nor callable.
 */
import type { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import type { RequestHandlerExtra } from '@modelcontextprotocol/sdk/shared/protocol.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode as JsonRpcErrorCode,
  McpError,
  type ServerNotification,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { z } from 'zod';
import { formatIssues, formatPath } from '../core/config.js';
import { ErrorCode } from '../core/errors.js';
import type { AuditLog } from './audit.js';
import { errorToToolResult, toolErrorOf, toolFailure } from './tool-result.js';

export interface ToolAnnotations {
  readOnlyHint: boolean;
  destructiveHint: boolean;
  idempotentHint: boolean;
  openWorldHint: boolean;
}

export interface ToolConfig {
  title: string;
  description: string;
  annotations: ToolAnnotations;
}

export type ToolExtra = RequestHandlerExtra<ServerRequest, ServerNotification>;

/** What a handler gets besides its parsed arguments. */
export interface ToolContext {
  /** Aborted when the request is cancelled or its connection drops; never cancels a workflow. */
  signal: AbortSignal;
  /** Caller identity for the audit log and workflow inputs: token id or transport name. */
  caller: string;
  /** Sends a progress notification when the client asked for progress; otherwise a no-op. */
  progress(progress: number, total: number | undefined, message: string): Promise<void>;
  /** True when the client can answer an elicitation request. */
  canElicit: boolean;
  /** Asks the user to confirm; resolves true only on an explicit accept with confirm=true. */
  confirm(message: string): Promise<boolean>;
}

export interface ToolDefinition<S extends z.ZodObject = z.ZodObject> {
  name: string;
  config: ToolConfig;
  inputSchema: S;
  outputSchema: z.ZodObject;
  handler(args: z.output<S>, ctx: ToolContext): Promise<CallToolResult>;
}

/** The SDK's own tools/call handler is replaced by ToolHost.dispatch (see install). */
const NEVER_CALLED = (() => {
  throw new Error('tools/call is dispatched by ToolHost');
}) as unknown as Parameters<McpServer['registerTool']>[2];

export interface Modes {
  read_only: boolean;
  allow_destructive: boolean;
}

export function isMutating(config: ToolConfig): boolean {
  return !config.annotations.readOnlyHint;
}

/** Why a tool is refused in the given modes, or null when it is allowed. */
export function modeRefusal(def: Pick<ToolDefinition, 'name' | 'config'>, modes: Modes): string | null {
  if (modes.read_only && isMutating(def.config)) {
    return `refused: the server is in read-only mode (safety.read_only); ${def.name} changes the cluster`;
  }
  if (!modes.allow_destructive && def.config.annotations.destructiveHint) {
    return `refused: destructive tools are disabled (safety.allow_destructive=false); ${def.name} is destructive`;
  }
  return null;
}

/** Arguments as written to the audit log: confirmation tokens are secrets. */
export function redactArguments(args: unknown): unknown {
  if (typeof args !== 'object' || args === null || Array.isArray(args)) return args;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) {
    out[k] = /token|secret|password/i.test(k) ? '[redacted]' : v;
  }
  return out;
}

export interface ToolHostOptions {
  modes: Modes;
  audit: AuditLog;
  callerOf(extra: ToolExtra): string;
}

export class ToolHost {
  readonly #mcp: McpServer;
  readonly #opts: ToolHostOptions;
  readonly #tools = new Map<string, ToolDefinition>();

  constructor(mcp: McpServer, opts: ToolHostOptions) {
    this.#mcp = mcp;
    this.#opts = opts;
  }

  add<S extends z.ZodObject>(def: ToolDefinition<S>): void {
    this.#tools.set(def.name, def as unknown as ToolDefinition);
    if (modeRefusal(def, this.#opts.modes) !== null) return; // not listed
    this.#mcp.registerTool(
      def.name,
      {
        title: def.config.title,
        description: def.config.description,
        inputSchema: def.inputSchema,
        outputSchema: def.outputSchema,
        annotations: { title: def.config.title, ...def.config.annotations },
      },
      NEVER_CALLED,
    );
  }

  /** Names of the tools a client sees in this mode. */
  listed(): string[] {
    return [...this.#tools.values()]
      .filter((d) => modeRefusal(d, this.#opts.modes) === null)
      .map((d) => d.name);
  }

  /** Takes over tools/call from the SDK (call once, after every add). */
  install(): void {
    this.#mcp.server.removeRequestHandler('tools/call');
    this.#mcp.server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
      this.dispatch(request.params.name, request.params.arguments, extra),
    );
  }

  async dispatch(name: string, rawArgs: unknown, extra: ToolExtra): Promise<CallToolResult> {
    const def = this.#tools.get(name);
    if (!def) throw new McpError(JsonRpcErrorCode.InvalidParams, `Tool ${name} not found`);
    const caller = this.#opts.callerOf(extra);
    const mutating = isMutating(def.config);
    const started = Date.now();
    let result: CallToolResult;
    const refusal = modeRefusal(def, this.#opts.modes);
    if (refusal !== null) {
      result = toolFailure({ code: ErrorCode.ModeForbidden, message: refusal, tool: name });
    } else {
      const parsed = def.inputSchema.safeParse(rawArgs ?? {});
      if (!parsed.success) {
        result = toolFailure({
          code: ErrorCode.ValidationFailed,
          message: `invalid arguments for ${name}: ${formatIssues(parsed.error.issues)}`,
          issues: parsed.error.issues.map((i) => ({
            field: formatPath(i.path) || '(arguments)',
            rule: i.message,
          })),
        });
      } else {
        try {
          result = await def.handler(parsed.data, this.#context(extra, caller));
        } catch (err) {
          result = errorToToolResult(err);
        }
      }
    }
    if (mutating) {
      const structured = (result.structuredContent ?? {}) as Record<string, unknown>;
      const error = toolErrorOf(result);
      this.#opts.audit.record({
        time: new Date(started).toISOString(),
        caller,
        tool: name,
        arguments: redactArguments(rawArgs ?? {}),
        operation_id: typeof structured.operation_id === 'string' ? structured.operation_id : null,
        result: result.isError ? 'error' : 'ok',
        ...(error ? { error_code: error.code ?? null, error: error.message ?? null } : {}),
        duration_ms: Date.now() - started,
      });
    }
    return result;
  }

  #context(extra: ToolExtra, caller: string): ToolContext {
    const token = extra._meta?.progressToken;
    const server = this.#mcp.server;
    const canElicit = server.getClientCapabilities()?.elicitation !== undefined;
    return {
      signal: extra.signal,
      caller,
      canElicit,
      async progress(progress, total, message) {
        if (token === undefined || extra.signal.aborted) return;
        await extra
          .sendNotification({
            method: 'notifications/progress',
            params: { progressToken: token, progress, ...(total !== undefined ? { total } : {}), message },
          })
          .catch(() => undefined);
      },
      async confirm(message) {
        if (!canElicit) return false;
        const answer = await server.elicitInput(
          {
            message,
            requestedSchema: {
              type: 'object',
              properties: {
                confirm: { type: 'boolean', title: 'Confirm', description: 'Proceed with this operation' },
              },
              required: ['confirm'],
            },
          },
          { signal: extra.signal },
        );
        return answer.action === 'accept' && answer.content?.confirm === true;
      },
    };
  }
}
