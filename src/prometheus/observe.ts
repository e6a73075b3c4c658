/**
 * Event subscriptions feeding the metrics. Labels stay bounded: scope, job, queue,
 * instance and a few fixed words; never run ids or error text.
 */
import { performance } from 'node:perf_hooks';
import type { SchedulerEvents } from '../scheduler/scheduler.js';
import type { RunInfo, WorkerEvents } from '../worker/events.js';
import type { WarrenMetricSet } from './register.js';
import { deadLetterReasonKind, scopeOfQueue } from './reason-kind.js';

/** What `observeWorker` needs of a worker (a `createWorker()` result). */
export interface ObservableWorker {
  readonly scope: string;
  on<E extends keyof WorkerEvents>(event: E, listener: (...args: WorkerEvents[E]) => void): unknown;
  off<E extends keyof WorkerEvents>(event: E, listener: (...args: WorkerEvents[E]) => void): unknown;
}

/** What `observeScheduler` needs of a scheduler (a `createScheduler()` result). */
export interface ObservableScheduler {
  readonly scope: string;
  readonly instanceId: string;
  isLeader(): boolean;
  on<E extends keyof SchedulerEvents>(event: E, listener: (...args: SchedulerEvents[E]) => void): unknown;
  off<E extends keyof SchedulerEvents>(event: E, listener: (...args: SchedulerEvents[E]) => void): unknown;
}

type Listeners<Events> = { [E in keyof Events]?: Events[E] extends unknown[] ? (...args: Events[E]) => void : never };

function subscribe<Events>(
  target: { on(event: never, listener: never): unknown; off(event: never, listener: never): unknown },
  listeners: Listeners<Events>,
): () => void {
  const entries = Object.entries(listeners) as Array<[string, (...args: unknown[]) => void]>;
  const t = target as unknown as {
    on(e: string, l: (...args: unknown[]) => void): unknown;
    off(e: string, l: (...args: unknown[]) => void): unknown;
  };
  for (const [event, listener] of entries) t.on(event, listener);
  let subscribed = true;
  return () => {
    if (!subscribed) return;
    subscribed = false;
    for (const [event, listener] of entries) t.off(event, listener);
  };
}

/**
 * Runs whose end never comes (abandoned at shutdown, lease lost) would otherwise stay in
 * the start-time map for good.
 */
const MAX_TRACKED_RUNS = 10_000;

export function observeWorkerWith(m: WarrenMetricSet, worker: ObservableWorker): () => void {
  // `run:success` carries the worker's own duration; failures do not, so the adapter times
  // them from `run:start` to `run:failure` (the handler's end, before the result is stored).
  const started = new Map<string, number>();
  const failedAfter = new Map<string, number>();
  const finish = (run: RunInfo, status: string, seconds: number | undefined) => {
    started.delete(run.runId);
    failedAfter.delete(run.runId);
    if (seconds !== undefined) m.jobDuration.observe({ scope: run.scope, job_id: run.jobId, status }, seconds);
    m.runs.inc({ scope: run.scope, job_id: run.jobId, status, trigger_source: run.triggerSource });
  };
  const unsubscribe = subscribe<WorkerEvents>(worker, {
    'run:start': (run) => {
      if (started.size >= MAX_TRACKED_RUNS) started.delete(started.keys().next().value!);
      started.set(run.runId, performance.now());
    },
    'run:failure': (run) => {
      const at = started.get(run.runId);
      if (at === undefined) return;
      if (failedAfter.size >= MAX_TRACKED_RUNS) failedAfter.delete(failedAfter.keys().next().value!);
      failedAfter.set(run.runId, (performance.now() - at) / 1000);
    },
    'run:success': (run, info) => finish(run, 'succeeded', info.durationMs / 1000),
    'run:retry': (run) => {
      finish(run, 'retry', failedAfter.get(run.runId));
      m.retries.inc({ scope: run.scope, job_id: run.jobId });
    },
    'run:dead': (run, info) => finish(run, info.status, failedAfter.get(run.runId)),
    'message:dead-lettered': (info) => {
      m.deadLetters.inc({
        scope: scopeOfQueue(info.queue, worker.scope),
        queue: info.queue,
        reason_kind: deadLetterReasonKind(info.reason),
      });
    },
    'message:dropped': (info) => {
      m.messagesDropped.inc({ scope: scopeOfQueue(info.queue, worker.scope), outcome: info.outcome });
    },
  });
  return () => {
    unsubscribe();
    started.clear();
    failedAfter.clear();
  };
}

export function observeSchedulerWith(m: WarrenMetricSet, scheduler: ObservableScheduler): () => void {
  const labels = { scope: scheduler.scope, instance: scheduler.instanceId };
  m.leader.set(labels, scheduler.isLeader() ? 1 : 0);
  const unsubscribe = subscribe<SchedulerEvents>(scheduler, {
    'leader:gained': () => m.leader.set(labels, 1),
    'leader:lost': () => m.leader.set(labels, 0),
    'slot:published': (run) => m.slotsPublished.inc({ scope: run.scope, job_id: run.jobId }),
    'run:reaped': (reaped) => m.runsReaped.inc({ scope: reaped.run.scope, job_id: reaped.run.jobId }),
  });
  return () => {
    unsubscribe();
    // Nothing keeps the gauge true any more: a stale 1 would claim a leader that may be gone.
    m.leader.remove(labels);
  };
}
