import { z } from 'zod';
import type { ServerDeps } from '../deps.js';
import type { WorkerSummary } from '../inventory.js';
import type { ToolConfig, ToolHost } from '../tool-host.js';
import { toolSuccess } from '../tool-result.js';

export const ListWorkersInputSchema = z.strictObject({
  type_filter: z
    .enum(['all', 'burst', 'permanent'], { error: 'must be one of: all, burst, permanent' })
    .default('all')
    .describe('Which workers to list: permanent, burst or all (default)'),
});

export const WorkerRowSchema = z.object({
  name: z.string(),
  type: z.enum(['burst', 'permanent']),
  status: z.enum(['ready', 'busy', 'draining', 'cordoned', 'not_ready']),
  ready: z.boolean(),
  unschedulable: z.boolean(),
  protected: z.boolean(),
  pods_running: z.number().int(),
  cpu: z.string().describe('allocatable CPU'),
  memory: z.string().describe('allocatable memory'),
  ttl_hours: z.number().nullable(),
  expires_at: z.string().nullable(),
  seconds_remaining: z.number().nullable(),
  vm_id: z.string().nullable(),
  age_seconds: z.number(),
});
export type WorkerRow = z.infer<typeof WorkerRowSchema>;

export const ListWorkersOutputSchema = z.object({
  workers: z.array(WorkerRowSchema),
  count: z.number().int(),
});

export const LIST_WORKERS_TOOL: ToolConfig = {
  title: 'List workers',
  description:
    'Lists the worker nodes of the cluster, read straight from the Kubernetes API: type (burst or permanent), status (ready, busy, draining, cordoned, not_ready), pods, allocatable resources, and the TTL and expiry of burst workers.',
  annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
};

export function workerRow(w: WorkerSummary): WorkerRow {
  return {
    name: w.name,
    type: w.type,
    status: w.status,
    ready: w.ready,
    unschedulable: w.unschedulable,
    protected: w.protected,
    pods_running: w.podsRunning,
    cpu: w.allocatable.cpu,
    memory: w.allocatable.memory,
    ttl_hours: w.ttl?.ttlHours ?? null,
    expires_at: w.ttl?.expiresAt ?? null,
    seconds_remaining: w.ttl?.secondsRemaining ?? null,
    vm_id: w.vmId,
    age_seconds: w.ageSeconds,
  };
}

export function renderRow(w: WorkerRow): string {
  const expiry = w.expires_at ? `, expires ${w.expires_at}` : '';
  return `- ${w.name} (${w.type}, ${w.status}, ${w.pods_running} pod(s)${expiry})`;
}

export function registerListWorkersTool(host: ToolHost, deps: ServerDeps): void {
  host.add({
    name: 'list_workers',
    config: LIST_WORKERS_TOOL,
    inputSchema: ListWorkersInputSchema,
    outputSchema: ListWorkersOutputSchema,
    async handler(args) {
      const workers = (await deps.inventory.listWorkers(args.type_filter)).map(workerRow);
      const what = args.type_filter === 'all' ? 'workers' : `${args.type_filter} workers`;
      const text =
        workers.length === 0
          ? `No ${what}.`
          : `${workers.length} ${what}:\n${workers.map(renderRow).join('\n')}`;
      return toolSuccess({ workers, count: workers.length }, text);
    },
  });
}
