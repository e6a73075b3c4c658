/**
 * Publish-and-mark: the relay from the store's outbox to the broker. It knows both, so it
 * sits above them, on the scheduler side; the worker uses it too when it schedules a run
 * (a retry, the next link of a queue-mode chain). The broker itself never sees the store.
 */
import { NOT_BEFORE_HEADER, messageForRun, encodeMessage } from '../broker/envelope.js';
import { workQueueName } from '../names.js';
import type { Transport } from '../broker/transport.js';
import type { JobConfig } from '../define/types.js';
import type { RunRecord, Store } from '../store/port.js';

/** The chain delay a queue-mode job's message carries (`next_delay_sec`), null otherwise. */
export function nextDelaySec(config: Pick<JobConfig, 'reschedule' | 'schedule'>): number | null {
  if (config.reschedule !== 'queue' || config.schedule?.kind !== 'every') return null;
  return config.schedule.everyMs / 1000;
}

export interface PublishRunsOptions {
  /** Called once every publish settled (confirmed or failed), before the runs are marked: lets the leader time the two apart. */
  onConfirmed?: () => void;
  /**
   * A run due within this many milliseconds of `now` is sent at once with its instant in the
   * `x-warren-not-before` header (the worker holds it until then) instead of through the
   * delay topology's whole seconds: the leader's claimed-ahead slots. 0: never early.
   * @default 0
   */
  earlyMs?: number;
}

/**
 * Publishes the trigger of each run to its job's work queue, delayed until the run's
 * `availableAt` (whole seconds, rounded up: "not before"), or, when it is due within
 * `earlyMs`, at once with a not-before header; then marks the runs published.
 * Used by the leader (slots, outbox, reseed, runNow) and the worker (retries, chains).
 * A run whose publish fails stays unpublished, and the outbox publishes it later.
 */
export async function publishRuns(
  transport: Transport,
  store: Store,
  runs: readonly RunRecord[],
  configOf: (run: RunRecord) => JobConfig | undefined,
  now: number,
  options: PublishRunsOptions = {},
): Promise<{ published: string[]; failed: Array<{ runId: string; error: unknown }> }> {
  const published: string[] = [];
  const failed: Array<{ runId: string; error: unknown }> = [];
  await Promise.all(
    runs.map(async (run) => {
      const config = configOf(run);
      if (!config) {
        failed.push({ runId: run.runId, error: new Error(`no job config for ${run.jobId}`) });
        return;
      }
      const message = messageForRun(run, {
        timeoutMs: config.timeoutMs,
        maxAttempts: config.retry.maxAttempts,
        nextDelaySec: nextDelaySec(config),
      });
      const dueIn = run.availableAt.getTime() - now;
      const early = dueIn > 0 && dueIn <= (options.earlyMs ?? 0);
      const headers: Record<string, unknown> = { 'x-warren-job': run.jobId, 'x-warren-attempt': run.attempt };
      if (early) headers[NOT_BEFORE_HEADER] = run.availableAt.getTime();
      const delaySec = early ? 0 : Math.max(0, Math.ceil(dueIn / 1000));
      try {
        await transport.publish(workQueueName(run.scope, config.queue), encodeMessage(message), {
          messageId: run.runId,
          headers,
          delaySec,
        });
        published.push(run.runId);
      } catch (error) {
        failed.push({ runId: run.runId, error });
      }
    }),
  );
  options.onConfirmed?.();
  // Marked by (run id, attempt): a fast worker may already have failed this attempt and reset
  // the run for a retry, whose own trigger this mark must not claim as published.
  if (published.length > 0) {
    const attemptOf = new Map(runs.map((run) => [run.runId, run.attempt]));
    await store.markPublished(
      published.map((runId) => ({ runId, attempt: attemptOf.get(runId)! })),
      new Date(now),
    );
  }
  return { published, failed };
}
