import { describe, expect, it } from 'vitest';
import type { Completion } from '../../src/store/port.js';
import { type ContractContext, at, claimOne, newRun, runId, seedJob, seedRun } from './store-fixtures.js';

function done(runId: string, overrides: Partial<Completion> = {}): Completion {
  return { runId, attempt: 1, guard: { workerId: 'worker-a' }, status: 'succeeded', error: null, finishedAt: at(20), ...overrides };
}

export function completeContract(c: ContractContext): void {
  describe('completeRuns', () => {
    it('success: final status, finish time, lease released; the job records its last run', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'cmp');
      const run = await claimOne(c.store(), await seedRun(c.store(), scope, job, 'r'), at(10));
      const [result] = await c.store().completeRuns([done(run.runId)]);
      expect(result).toMatchObject({ runId: run.runId, applied: true, nextRun: null });
      expect(result!.run).toMatchObject({
        status: 'succeeded',
        finishedAt: at(20),
        error: null,
        startedAt: at(10),
        workerId: 'worker-a',
        attempt: 1,
      });
      // Reading of "earlier attempts": every finished attempt is appended, the final one too,
      // so a finished run carries its whole history (the worker and harness rely on it).
      expect(result!.run!.attempts).toEqual([
        { attempt: 1, workerId: 'worker-a', startedAt: at(10), finishedAt: at(20), status: 'succeeded', error: null, retryAt: null },
      ]);
      expect(await c.store().getRun(run.runId)).toEqual(result!.run);
      // Reading: last_run_at is when the last run finished.
      expect(await c.store().getJob(scope, 'cmp')).toMatchObject({ lastStatus: 'succeeded', lastRunAt: at(20) });
      expect(await c.store().countRunning(scope, 'cmp', at(21))).toBe(0);
      expect(await c.store().completeRuns([])).toEqual([]);
    });

    it('retry: back to pending at attempt + 1, available at retryAt, unpublished, attempt history appended', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'cmp');
      // Published before the claim (markPublished only stamps a pending run), so the reset below clears it.
      const seeded = await seedRun(c.store(), scope, job, 'r');
      await c.store().markPublished([{ runId: seeded.runId, attempt: 1 }], at(5));
      const run = await claimOne(c.store(), seeded, at(10));
      expect(run.publishedAt).toEqual(at(5));
      const [result] = await c.store().completeRuns([done(run.runId, { status: 'failed', error: 'boom', retryAt: at(50) })]);
      expect(result!.applied).toBe(true);
      expect(result!.run).toMatchObject({
        status: 'pending',
        attempt: 2,
        availableAt: at(50),
        publishedAt: null,
        leaseUntil: null,
        workerId: null,
        startedAt: null,
        finishedAt: null,
      });
      expect(result!.run!.attempts).toEqual([
        { attempt: 1, workerId: 'worker-a', startedAt: at(10), finishedAt: at(20), status: 'failed', error: 'boom', retryAt: at(50) },
      ]);
      expect(await c.store().getRun(run.runId)).toEqual(result!.run);
      // Reading: the job's last run is a finished one; an attempt that will be retried is not.
      expect(await c.store().getJob(scope, 'cmp')).toMatchObject({ lastRunAt: null, lastStatus: null });

      // The retry is claimed with its new attempt only, once available.
      expect(
        (await c.store().claimRuns([{ runId: run.runId, attempt: 1 }], { now: at(60), workerId: 'worker-b', leaseMs: 30_000 }))[0]!.outcome,
      ).toBe('duplicate');
      expect(
        (await c.store().claimRuns([{ runId: run.runId, attempt: 2 }], { now: at(49), workerId: 'worker-b', leaseMs: 30_000 }))[0]!.outcome,
      ).toBe('early');
      expect(
        (await c.store().claimRuns([{ runId: run.runId, attempt: 2 }], { now: at(60), workerId: 'worker-b', leaseMs: 30_000 }))[0]!.outcome,
      ).toBe('claimed');
      const [second] = await c.store().completeRuns([
        done(run.runId, {
          attempt: 2,
          guard: { workerId: 'worker-b' },
          status: 'failed',
          error: 'again',
          finishedAt: at(61),
          retryAt: at(100),
        }),
      ]);
      expect(second!.run!.attempts.map((a) => [a.attempt, a.workerId, a.error])).toEqual([
        [1, 'worker-a', 'boom'],
        [2, 'worker-b', 'again'],
      ]);
      expect(second!.run!.attempt).toBe(3);
      expect(
        (await c.store().claimRuns([{ runId: run.runId, attempt: 3 }], { now: at(100), workerId: 'worker-c', leaseMs: 30_000 }))[0]!
          .outcome,
      ).toBe('claimed');
      const [last] = await c
        .store()
        .completeRuns([
          done(run.runId, { attempt: 3, guard: { workerId: 'worker-c' }, status: 'dead', error: 'final', finishedAt: at(101) }),
        ]);
      expect(last!.run).toMatchObject({
        status: 'dead',
        attempt: 3,
        error: 'final',
        workerId: 'worker-c',
        startedAt: at(100),
        finishedAt: at(101),
      });
      expect(last!.run!.attempts.map((a) => [a.attempt, a.status, a.retryAt])).toEqual([
        [1, 'failed', at(50)],
        [2, 'failed', at(100)],
        [3, 'dead', null],
      ]);
      expect(await c.store().getJob(scope, 'cmp')).toMatchObject({ lastRunAt: at(101), lastStatus: 'dead' });
    });

    it('retry: the stale deadline moves with it (same window, from retryAt), so a late failure is retried, not expired', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'cmp');
      // A slot at 0 s, stale after 48 s; it fails at 45 s and is retried at 50 s.
      const seeded = await seedRun(c.store(), scope, job, 'r', { scheduledFor: at(0), availableAt: at(0), staleAt: at(48) });
      const run = await claimOne(c.store(), seeded, at(1));
      const [result] = await c
        .store()
        .completeRuns([done(run.runId, { status: 'failed', error: 'late', finishedAt: at(45), retryAt: at(50) })]);
      expect(result!.run).toMatchObject({ status: 'pending', attempt: 2, availableAt: at(50), staleAt: at(98) });
      expect(await c.store().getRun(run.runId)).toEqual(result!.run);
      expect(
        (await c.store().claimRuns([{ runId: run.runId, attempt: 2 }], { now: at(55), workerId: 'worker-b', leaseMs: 30_000 }))[0]!.outcome,
      ).toBe('claimed');
      // The protection stays: a retry not started within the window after retryAt expires.
      const [again] = await c.store().completeRuns([
        done(run.runId, {
          attempt: 2,
          guard: { workerId: 'worker-b' },
          status: 'failed',
          error: 'again',
          finishedAt: at(56),
          retryAt: at(60),
        }),
      ]);
      expect(again!.run).toMatchObject({ attempt: 3, staleAt: at(108) });
      expect(
        (await c.store().claimRuns([{ runId: run.runId, attempt: 3 }], { now: at(109), workerId: 'worker-c', leaseMs: 30_000 }))[0]!
          .outcome,
      ).toBe('expired');
      // A run without a stale deadline keeps none.
      const free = await claimOne(c.store(), await seedRun(c.store(), scope, job, 'free'), at(1));
      const [freeRetry] = await c
        .store()
        .completeRuns([done(free.runId, { status: 'failed', error: 'x', finishedAt: at(2), retryAt: at(3) })]);
      expect(freeRetry!.run).toMatchObject({ attempt: 2, staleAt: null });
    });

    it('final failure: dead with its error', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'cmp');
      const run = await claimOne(c.store(), await seedRun(c.store(), scope, job, 'r'), at(10));
      const [result] = await c.store().completeRuns([done(run.runId, { status: 'dead', error: 'gave up' })]);
      expect(result!.run).toMatchObject({ status: 'dead', error: 'gave up', finishedAt: at(20), attempt: 1 });
      expect((await c.store().getJob(scope, 'cmp'))!.lastStatus).toBe('dead');
    });

    it('a guard that does not hold writes nothing: other worker, wrong attempt, already completed', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'cmp');
      const run = await claimOne(c.store(), await seedRun(c.store(), scope, job, 'r'), at(10));
      const results = await c.store().completeRuns([done(run.runId, { guard: { workerId: 'worker-b' } }), done(run.runId, { attempt: 2 })]);
      expect(results.map((r) => r.applied)).toEqual([false, false]);
      expect(await c.store().getRun(run.runId)).toEqual(run);
      expect((await c.store().completeRuns([done(run.runId)]))[0]!.applied).toBe(true);
      const [again] = await c.store().completeRuns([done(run.runId, { status: 'dead', finishedAt: at(30) })]);
      expect(again!.applied).toBe(false);
      expect(await c.store().getRun(run.runId)).toMatchObject({ status: 'succeeded', finishedAt: at(20) });
      expect((await c.store().completeRuns([done(runId(scope, 'nope'))]))[0]).toMatchObject({ applied: false, run: null, nextRun: null });
    });

    it('the reaper guard applies only when the lease really expired before its instant', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'cmp');
      const run = await claimOne(c.store(), await seedRun(c.store(), scope, job, 'r'), at(10), 'worker-a', 30_000);
      // Lease until 40 s.
      const [early] = await c
        .store()
        .completeRuns([
          done(run.runId, { guard: { leaseExpiredBefore: at(39) }, status: 'timed_out', error: 'lease expired', finishedAt: at(39) }),
        ]);
      expect(early!.applied).toBe(false);
      expect((await c.store().getRun(run.runId))!.status).toBe('running');
      const [reaped] = await c
        .store()
        .completeRuns([
          done(run.runId, { guard: { leaseExpiredBefore: at(41) }, status: 'timed_out', error: 'lease expired', finishedAt: at(41) }),
        ]);
      expect(reaped!.applied).toBe(true);
      expect(reaped!.run).toMatchObject({ status: 'timed_out', error: 'lease expired', finishedAt: at(41) });
    });

    it('queue mode: `next` inserts the chain link and sets the job next_due_at', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'chain', { reschedule: 'queue' }, at(0));
      const run = await claimOne(c.store(), await seedRun(c.store(), scope, job, 'r'), at(10));
      const link = newRun(job, runId(scope, 'link'), { scheduledFor: at(80), availableAt: at(80), triggerSource: 'chain' });
      const [result] = await c.store().completeRuns([done(run.runId, { next: { run: link, nextDueAt: at(80) } })]);
      expect(result!.applied).toBe(true);
      expect(result!.nextRun).toMatchObject({
        runId: link.runId,
        status: 'pending',
        triggerSource: 'chain',
        availableAt: at(80),
        scheduledFor: at(80),
        publishedAt: null,
        attempt: 1,
      });
      expect(await c.store().getRun(link.runId)).toEqual(result!.nextRun);
      expect((await c.store().getJob(scope, 'chain'))!.nextDueAt).toEqual(at(80));
    });

    it('queue mode: `next` is dropped when the job epoch moved on (paused or rescheduled)', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'chain', { reschedule: 'queue' }, at(0));
      const run = await claimOne(c.store(), await seedRun(c.store(), scope, job, 'r'), at(10));
      const paused = await c.store().setEnabled(scope, 'chain', false, { now: at(15) });
      const link = newRun(job, runId(scope, 'link'), { scheduledFor: at(80), availableAt: at(80), triggerSource: 'chain' });
      const [result] = await c.store().completeRuns([done(run.runId, { next: { run: link, nextDueAt: at(80) } })]);
      expect(result!.applied).toBe(true);
      expect(result!.nextRun).toBeNull();
      expect(await c.store().getRun(link.runId)).toBeNull();
      expect((await c.store().getJob(scope, 'chain'))!.nextDueAt).toEqual(paused.nextDueAt);
    });

    it('`next` waits for the final completion: a retry does not move the chain', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'chain', { reschedule: 'queue' }, at(0));
      const run = await claimOne(c.store(), await seedRun(c.store(), scope, job, 'r'), at(10));
      const link = newRun(job, runId(scope, 'link'), { scheduledFor: at(80), availableAt: at(80), triggerSource: 'chain' });
      const [result] = await c
        .store()
        .completeRuns([done(run.runId, { status: 'failed', error: 'boom', retryAt: at(30), next: { run: link, nextDueAt: at(80) } })]);
      expect(result).toMatchObject({ applied: true, nextRun: null });
      expect(result!.run!.status).toBe('pending');
      expect(await c.store().getRun(link.runId)).toBeNull();
      expect((await c.store().getJob(scope, 'chain'))!.nextDueAt).toEqual(at(0));
    });

    it('`next` is not inserted when the guard fails', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'chain', { reschedule: 'queue' }, at(0));
      const run = await claimOne(c.store(), await seedRun(c.store(), scope, job, 'r'), at(10));
      const link = newRun(job, runId(scope, 'link'), { scheduledFor: at(80), availableAt: at(80), triggerSource: 'chain' });
      const [result] = await c
        .store()
        .completeRuns([done(run.runId, { guard: { workerId: 'intruder' }, next: { run: link, nextDueAt: at(80) } })]);
      expect(result).toMatchObject({ applied: false, nextRun: null });
      expect(await c.store().getRun(link.runId)).toBeNull();
    });
  });

  describe('expiredLeases', () => {
    it('lists running runs whose lease expired before now, up to limit', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'exp', { overlap: 'allowAll' });
      const short = await claimOne(c.store(), await seedRun(c.store(), scope, job, 'a'), at(0), 'w', 10_000);
      const long = await claimOne(c.store(), await seedRun(c.store(), scope, job, 'b'), at(0), 'w', 60_000);
      const finished = await claimOne(c.store(), await seedRun(c.store(), scope, job, 'c'), at(0), 'w', 10_000);
      await c
        .store()
        .completeRuns([
          { runId: finished.runId, attempt: 1, guard: { workerId: 'w' }, status: 'succeeded', error: null, finishedAt: at(5) },
        ]);
      await seedRun(c.store(), scope, job, 'd');

      expect((await c.store().expiredLeases(scope, at(11), 10)).map((r) => r.runId)).toEqual([short.runId]);
      expect((await c.store().expiredLeases(scope, at(61), 10)).map((r) => r.runId).sort()).toEqual([short.runId, long.runId].sort());
      expect(await c.store().expiredLeases(scope, at(61), 1)).toHaveLength(1);
      expect(await c.store().expiredLeases(scope, at(9), 10)).toEqual([]);
      expect(await c.store().expiredLeases(c.scope(), at(61), 10)).toEqual([]);
    });
  });

  describe('brokenChains', () => {
    it('lists enabled, overdue queue-mode jobs with no pending or running run', async () => {
      const scope = c.scope();
      await seedJob(c.store(), scope, 'broken', { reschedule: 'queue' }, at(10));
      const withPending = await seedJob(c.store(), scope, 'pending', { reschedule: 'queue' }, at(10));
      await seedRun(c.store(), scope, withPending, 'p');
      const withRunning = await seedJob(c.store(), scope, 'running', { reschedule: 'queue' }, at(10));
      await claimOne(c.store(), await seedRun(c.store(), scope, withRunning, 'r'), at(1));
      const withFinished = await seedJob(c.store(), scope, 'finished', { reschedule: 'queue' }, at(10));
      const f = await claimOne(c.store(), await seedRun(c.store(), scope, withFinished, 'f'), at(1));
      await c
        .store()
        .completeRuns([
          { runId: f.runId, attempt: 1, guard: { workerId: 'worker-a' }, status: 'succeeded', error: null, finishedAt: at(2) },
        ]);
      await seedJob(c.store(), scope, 'not-due', { reschedule: 'queue' }, at(100));
      await seedJob(c.store(), scope, 'no-due', { reschedule: 'queue' }, null);
      await seedJob(c.store(), scope, 'disabled', { reschedule: 'queue', enabled: false }, at(10));
      await seedJob(c.store(), scope, 'fixed-rate', { reschedule: 'scheduler' }, at(10));

      expect((await c.store().brokenChains(scope, at(50), 10)).map((j) => j.jobId).sort()).toEqual(['broken', 'finished']);
      expect(await c.store().brokenChains(scope, at(50), 1)).toHaveLength(1);
      // Strictly overdue: next_due_at < before.
      expect(await c.store().brokenChains(scope, at(10), 10)).toEqual([]);
    });
  });

  describe('listRuns', () => {
    it('filters by job and status, newest first, limited (default 50)', async () => {
      const scope = c.scope();
      const a = await seedJob(c.store(), scope, 'a', { overlap: 'allowAll' });
      const b = await seedJob(c.store(), scope, 'b');
      // Later created = later scheduled, so "newest" means the same either way.
      for (let i = 1; i <= 3; i++)
        await c.store().insertRuns(scope, [newRun(a, runId(scope, `a${i}`), { scheduledFor: at(i * 10) })], at(i * 10));
      await c.store().insertRuns(scope, [newRun(b, runId(scope, 'b1'), { scheduledFor: at(15) })], at(15));
      await c.store().insertRuns(scope, [newRun(a, runId(scope, 'a-missed'), { scheduledFor: at(35), status: 'missed' })], at(35));
      await claimOne(c.store(), (await c.store().getRun(runId(scope, 'a2')))!, at(40));

      expect((await c.store().listRuns(scope)).map((r) => r.runId)).toEqual(
        ['a-missed', 'a3', 'a2', 'b1', 'a1'].map((n) => runId(scope, n)),
      );
      expect((await c.store().listRuns(scope, { jobId: 'a' })).map((r) => r.runId)).toEqual(
        ['a-missed', 'a3', 'a2', 'a1'].map((n) => runId(scope, n)),
      );
      expect((await c.store().listRuns(scope, { jobId: 'a', limit: 2 })).map((r) => r.runId)).toEqual(
        ['a-missed', 'a3'].map((n) => runId(scope, n)),
      );
      expect((await c.store().listRuns(scope, { status: 'running' })).map((r) => r.runId)).toEqual([runId(scope, 'a2')]);
      expect((await c.store().listRuns(scope, { status: ['pending', 'missed'] })).map((r) => r.runId)).toEqual(
        ['a-missed', 'a3', 'b1', 'a1'].map((n) => runId(scope, n)),
      );
      expect(await c.store().listRuns(scope, { jobId: 'zzz' })).toEqual([]);
      expect(await c.store().listRuns(c.scope())).toEqual([]);
    });

    it('returns at most 50 runs by default', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'many');
      const runs = Array.from({ length: 55 }, (_, i) => newRun(job, runId(scope, `m${i}`), { scheduledFor: at(i) }));
      expect(await c.store().insertRuns(scope, runs, at(0))).toHaveLength(55);
      expect(await c.store().listRuns(scope)).toHaveLength(50);
    });
  });
}
