/**
 * The reaper's Temporal Schedule, created or updated idempotently at worker start:
 * every `burst_workers.cleanup_interval_seconds`, overlap SKIP.
 */
import { type Client, ScheduleAlreadyRunning, ScheduleOverlapPolicy } from '@temporalio/client';
import { REAPER_SCHEDULE_ID, WorkflowType } from '../core/operations.js';

export interface ReaperScheduleOptions {
  scheduleId?: string;
  taskQueue: string;
  intervalSeconds: number;
}

export async function ensureReaperSchedule(
  client: Client,
  opts: ReaperScheduleOptions,
): Promise<'created' | 'updated'> {
  const scheduleId = opts.scheduleId ?? REAPER_SCHEDULE_ID;
  const every = `${opts.intervalSeconds}s`;
  const action = {
    type: 'startWorkflow' as const,
    workflowType: WorkflowType.reaper,
    workflowId: `reaper:${scheduleId}`,
    taskQueue: opts.taskQueue,
    args: [],
  };
  try {
    await client.schedule.create({
      scheduleId,
      action,
      spec: { intervals: [{ every }] },
      policies: { overlap: ScheduleOverlapPolicy.SKIP, catchupWindow: '1m' },
    });
    return 'created';
  } catch (err) {
    if (!(err instanceof ScheduleAlreadyRunning)) throw err;
  }
  await client.schedule.getHandle(scheduleId).update((prev) => ({
    ...prev,
    action,
    spec: { intervals: [{ every }] },
    policies: { ...prev.policies, overlap: ScheduleOverlapPolicy.SKIP },
  }));
  return 'updated';
}
