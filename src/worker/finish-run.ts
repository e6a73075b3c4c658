import { publishRuns } from '../scheduler/publish-runs.js';
import type { Delivery } from '../broker/transport.js';
import { nextChainRun, staleAtFor } from '../define/schedule.js';
import type { ClaimResult, Completion, JobRecord, NewRun, RunRecord } from '../store/port.js';
import type { TriggerSource } from '../define/types.js';
import { backoffDelayMs } from '../util/backoff.js';
import { slotRunId } from '../util/uuid.js';
import { retryUntil, type RunningRun, type WorkerCore } from './core.js';
import type { Registration } from './handlers.js';
import { clip, deadLetterReason, errorText } from './dead-letter.js';
import type { RunInfo } from './events.js';
import { runLog, workerDebug } from './job-logger.js';
import { RunExecution, type RunOutcome } from './run-executor.js';
import { proveLease } from './lease.js';

/**
 * Runs a claimed run's handler once a handler slot is free, then records its result. The
 * delivery is already acked; `leave` gives its window place back. The slot and the window
 * place are freed as soon as the handler settles: the result is written by the batched
 * completions in the background (the run stays heartbeated until then), so the next run
 * never waits for a commit.
 */
export async function startRun(
  core: WorkerCore,
  registration: Registration,
  delivery: Delivery,
  claim: ClaimResult,
  leave: () => void,
  /** Claimed just ahead of its instant: the handler starts then, not before. */
  startAt?: number,
): Promise<void> {
  const run = claim.run!;
  const job = claim.job!;
  const info: RunInfo = {
    runId: run.runId,
    jobId: run.jobId,
    scope: run.scope,
    queue: delivery.queue,
    attempt: run.attempt,
    maxAttempts: job.retry.maxAttempts,
    triggerSource: run.triggerSource,
    scheduledFor: run.scheduledFor,
  };
  const log = runLog(core.log, run);
  const execution = new RunExecution({
    parseParams: registration.parseParams,
    handler: registration.handler,
    run,
    job,
    timers: core.timers,
    timeoutGraceMs: core.opts.timeoutGrace,
    log,
  });
  const entry: RunningRun = {
    info,
    run,
    job,
    execution,
    body: delivery.body,
    startedAt: core.clock.now(),
    provenUntil: 0,
    leaseTimer: null,
    lost: false,
  };
  // A newer attempt replaces a lost entry of the same run (that one settles on its own).
  core.book.hold(entry);
  // The claim set lease_until = the claim's `now` + leaseTtl (from this worker's clock).
  proveLease(core, entry, run.leaseUntil?.getTime() ?? core.clock.now() + core.opts.leaseTtl);
  core.count('claimed');
  let release: () => void = () => {};
  try {
    // Claimed just ahead of its instant: it starts at the instant (a Clock timer never fires early).
    const early = startAt === undefined ? 0 : startAt - core.clock.now();
    if (early > 0) await Promise.race([core.clock.sleep(early), execution.outcome]);
    // Claimed ahead of a free slot: wait for one, unless the run is stopped meanwhile
    // (cancelled by the store, or abandoned at shutdown), which settles it unstarted.
    const free = core.book.tryTakeSlot(delivery.queue);
    if (free !== null) release = free;
    else {
      const acquiring = core.book.takeSlot(delivery.queue);
      const slot = await Promise.race([acquiring, execution.outcome.then(() => null)]);
      if (slot === null)
        void acquiring.then(
          (r) => r(),
          () => undefined,
        );
      else release = slot;
    }
    if (!execution.settled) {
      entry.startedAt = core.clock.now();
      core.events.emit('run:start', info);
      execution.start();
    }
    const outcome = await execution.outcome;
    release();
    leave();
    await finishRun(core, entry, outcome);
  } finally {
    release();
    leave();
    core.book.forget(entry);
  }
}

interface Plan {
  completion: Completion | null;
  /** A final failure: the reason for the dead-letter queue. */
  deadReason: string | null;
  error: unknown;
}

function plan(core: WorkerCore, entry: RunningRun, outcome: RunOutcome, now: number): Plan {
  const { run, job } = entry;
  const base = { runId: run.runId, attempt: run.attempt, guard: { workerId: core.opts.workerId }, finishedAt: new Date(now) };
  const attemptsLeft = run.attempt < job.retry.maxAttempts;
  switch (outcome.kind) {
    case 'abandoned':
      return { completion: null, deadReason: null, error: null };
    case 'success':
      return { completion: { ...base, status: 'succeeded', error: null, next: chainNext(run, job, now) }, deadReason: null, error: null };
    case 'cancelled':
      // cancelOther: the run that replaced this one carries the chain on.
      return { completion: { ...base, status: 'cancelled', error: clip(outcome.error.message) }, deadReason: null, error: outcome.error };
    case 'timeout':
    case 'failure': {
      const message = clip(errorText(outcome.error));
      const nonRetryable = outcome.kind === 'failure' && outcome.nonRetryable;
      if (!nonRetryable && attemptsLeft) {
        const delayMs =
          outcome.kind === 'failure' && outcome.retryAfterMs !== undefined
            ? outcome.retryAfterMs
            : backoffDelayMs(job.retry.backoff, run.attempt);
        const status = outcome.kind === 'timeout' ? 'timed_out' : 'failed';
        return {
          completion: { ...base, status, error: message, retryAt: new Date(now + delayMs) },
          deadReason: null,
          error: outcome.error,
        };
      }
      const status = outcome.kind === 'timeout' ? 'timed_out' : 'dead';
      const deadReason = nonRetryable
        ? deadLetterReason.nonRetryable(message)
        : outcome.kind === 'timeout'
          ? deadLetterReason.timedOut(run.attempt, message)
          : deadLetterReason.exhausted(run.attempt, message);
      return {
        completion: { ...base, status, error: message, next: chainNext(run, job, now) },
        deadReason: clip(deadReason),
        error: outcome.error,
      };
    }
  }
}

const CHAIN_SOURCES: ReadonlySet<TriggerSource> = new Set<TriggerSource>(['scheduler', 'chain', 'catchup']);

/** Queue mode (fixed delay): the chain's next link, `period` after this run finished. */
function chainNext(run: RunRecord, job: JobRecord, now: number): Completion['next'] {
  if (job.reschedule !== 'queue' || job.schedule === null) return undefined;
  // Only a link of the chain carries it on: a manual, startup or backfill run of a
  // queue-mode job would otherwise start a second chain beside the live one.
  if (!CHAIN_SOURCES.has(run.triggerSource)) return undefined;
  const scheduledFor = nextChainRun(job, new Date(now));
  const link: NewRun = {
    runId: slotRunId(run.scope, run.jobId, scheduledFor),
    jobId: run.jobId,
    scheduledFor,
    triggerSource: 'chain',
    params: job.params,
    // The run's epoch, not the job's: a chain paused meanwhile dies instead of doubling.
    epoch: run.epoch,
    status: 'pending',
    staleAt: staleAtFor(job, scheduledFor, false),
    availableAt: scheduledFor,
  };
  return { run: link, nextDueAt: scheduledFor };
}

async function finishRun(core: WorkerCore, entry: RunningRun, outcome: RunOutcome): Promise<void> {
  const { info, run, job } = entry;
  const now = core.clock.now();
  if (outcome.kind === 'timeout' || outcome.kind === 'failure') {
    core.count('failed');
    core.events.emit('run:failure', info, outcome.error);
  }
  const p = plan(core, entry, outcome, now);
  if (p.completion === null || entry.lost) {
    workerDebug(
      'run %s attempt %d: nothing recorded (%s); the leader reaps it',
      run.runId,
      run.attempt,
      entry.lost ? 'lease lost' : 'abandoned at shutdown',
    );
    return;
  }
  let result;
  try {
    result = await core.completions.submit(p.completion);
  } catch (err) {
    workerDebug('result of run %s not recorded (%s); its lease will expire', run.runId, errorText(err));
    return;
  }
  if (!result.applied) {
    workerDebug('result of run %s not applied: lease lost or already completed', run.runId);
    return;
  }
  core.book.forget(entry);
  const c = p.completion;
  const log = runLog(core.log, run);
  if (c.status === 'succeeded') {
    core.count('succeeded');
    log.debug('run succeeded', { duration_ms: now - entry.startedAt });
    core.events.emit('run:success', info, { durationMs: now - entry.startedAt });
  } else if (c.retryAt) {
    core.count('retried');
    log.warn('run failed; retrying', { status: c.status, error: c.error, retry_at: c.retryAt.toISOString() });
    core.events.emit('run:retry', info, { error: p.error, retryAt: c.retryAt });
  } else if (p.deadReason !== null) {
    core.count('dead');
    log.error('run failed for good', { status: c.status, error: c.error, reason: p.deadReason });
    core.events.emit('run:dead', info, { error: p.error, status: c.status as 'dead' | 'timed_out', reason: p.deadReason });
  }
  const toPublish: RunRecord[] = [];
  if (c.retryAt && result.run) toPublish.push(result.run);
  if (result.nextRun) toPublish.push(result.nextRun);
  if (toPublish.length > 0) core.track(publishFollowUps(core, job, toPublish));
  if (p.deadReason !== null) core.track(deadLetterRun(core, entry, c, p.deadReason));
}

/** Retries and chain links; a publish that keeps failing is left to the leader's outbox. */
async function publishFollowUps(core: WorkerCore, job: JobRecord, runs: RunRecord[]): Promise<void> {
  let left = runs;
  await retryUntil(
    `publish ${runs.map((r) => r.runId).join(',')}`,
    async () => {
      const { failed } = await publishRuns(core.transport, core.store, left, () => job, core.clock.now());
      if (failed.length === 0) return true;
      left = left.filter((r) => failed.some((f) => f.runId === r.runId));
      throw failed[0]!.error;
    },
    { clock: core.clock, signal: core.closing },
  );
}

async function deadLetterRun(core: WorkerCore, entry: RunningRun, completion: Completion, reason: string): Promise<void> {
  const done = await retryUntil(
    `dead-letter run ${entry.run.runId}`,
    async () => {
      await core.transport.deadLetter(
        entry.info.queue,
        entry.body,
        reason,
        {
          'x-warren-error': completion.error ?? '',
          'x-warren-run-id': entry.run.runId,
          'x-warren-message-id': entry.run.runId,
          'x-warren-job': entry.run.jobId,
          'x-warren-attempt': entry.run.attempt,
          'x-warren-status': completion.status,
        },
        entry.run.runId,
      );
      return true;
    },
    { clock: core.clock, signal: core.closing },
  );
  if (done) {
    core.count('deadLettered');
    core.events.emit('message:dead-lettered', { queue: entry.info.queue, reason, messageId: entry.run.runId });
  }
}
