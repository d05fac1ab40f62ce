/**
 * List-then-watch loop: waits for a condition on API objects with a WATCH instead of
 * polling, re-listing whenever the watch ends (server timeout, 410 Gone, network).
 */
import { Watch } from '@kubernetes/client-node';
import type { KubeClients } from './client.js';

/** A resettable wake-up: waiters resolve on the next `wake()`. */
export class Waker {
  private waiters: Array<() => void> = [];

  wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }

  /** Resolves on the next wake(), after `ms`, or when the signal aborts, whichever is first. */
  wait(ms: number | null, signal?: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      let timer: NodeJS.Timeout | undefined;
      const done = () => {
        if (timer) clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      };
      this.waiters.push(done);
      if (ms !== null) timer = setTimeout(done, Math.max(0, ms));
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}

/** Sleeps `ms`, returning early when the signal aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Waker().wait(ms, signal);
}

export function abortError(signal: AbortSignal): Error {
  const reason: unknown = signal.reason;
  if (reason instanceof Error) return reason;
  const err = new Error(typeof reason === 'string' ? reason : 'aborted');
  err.name = 'AbortError';
  return err;
}

export interface ObserveOptions {
  /** Reads the current state (updating the caller's view) and returns the list's resourceVersion. */
  list: () => Promise<string>;
  /** API path of the watch, e.g. `/api/v1/pods`. */
  path: string;
  query: Record<string, string | number | boolean | undefined>;
  /** Applies one watch event to the caller's view. */
  onEvent: (type: string, obj: unknown) => void;
  /** True when waiting is over. */
  isDone: () => boolean;
  /** Epoch ms, or null for no deadline. */
  deadlineMs: number | null;
  signal?: AbortSignal | undefined;
  /** Woken by others too (e.g. when concurrent work settles). */
  waker?: Waker;
  /** Called at least every `tickMs` while waiting (heartbeats). */
  onTick?: () => void;
  tickMs?: number;
}

/**
 * Lists, then watches from the list's resourceVersion until `isDone()`; returns
 * 'done', or 'deadline' when the deadline passed first. Throws when the signal aborts.
 */
export async function observe(k: KubeClients, opts: ObserveOptions): Promise<'done' | 'deadline'> {
  const waker = opts.waker ?? new Waker();
  const tickMs = opts.tickMs ?? 5000;
  while (true) {
    if (opts.signal?.aborted) throw abortError(opts.signal);
    const rv = await opts.list();
    if (opts.isDone()) return 'done';
    let ended = false;
    const remaining = opts.deadlineMs === null ? null : opts.deadlineMs - Date.now();
    if (remaining !== null && remaining <= 0) return 'deadline';
    const timeoutSeconds = Math.max(1, Math.min(300, Math.ceil((remaining ?? 300_000) / 1000)));
    let controller: AbortController | undefined;
    try {
      controller = await new Watch(k.kc).watch(
        opts.path,
        { ...opts.query, resourceVersion: rv, allowWatchBookmarks: true, timeoutSeconds },
        (type, obj) => {
          if (type === 'ERROR') {
            ended = true; // e.g. 410 Gone: re-list
          } else if (type !== 'BOOKMARK') {
            opts.onEvent(type, obj);
          }
          waker.wake();
        },
        () => {
          ended = true;
          waker.wake();
        },
      );
      while (!ended) {
        if (opts.isDone()) return 'done';
        if (opts.signal?.aborted) throw abortError(opts.signal);
        const left = opts.deadlineMs === null ? null : opts.deadlineMs - Date.now();
        if (left !== null && left <= 0) {
          // Last look at the real state before giving up.
          await opts.list();
          return opts.isDone() ? 'done' : 'deadline';
        }
        await waker.wait(left === null ? tickMs : Math.min(tickMs, left), opts.signal);
        opts.onTick?.();
      }
    } finally {
      controller?.abort();
    }
    // The watch ended: brief pause so a failing apiserver is not hammered, then re-list.
    await sleep(200, opts.signal);
  }
}
