import { describe, expect, it } from 'vitest';
import { isWarrenError } from '../../src/errors.js';
import { type ContractContext, T0, at, jobConfig, newRun, runId, seedJob, seedRun, sorted, claimOne } from './store-fixtures.js';

async function expectCode(promise: Promise<unknown>, code: string): Promise<void> {
  const error = await promise.then(
    () => undefined,
    (err: unknown) => err,
  );
  expect(isWarrenError(error), `expected a WarrenError ${code}, got ${String(error)}`).toBe(true);
  expect((error as { code: string }).code).toBe(code);
}

export function jobsContract(c: ContractContext): void {
  describe('syncJob', () => {
    it('inserts a new job with every config key, nextDueAt, no overrides and timestamps = now', async () => {
      const scope = c.scope();
      const config = jobConfig({ description: 'a job', runOnStartup: true });
      const job = await c.store().syncJob(scope, 'alpha', config, { now: T0, nextDueAt: at(60) });
      expect(job).toMatchObject({
        ...config,
        scope,
        jobId: 'alpha',
        overridden: [],
        pauseNote: null,
        nextDueAt: at(60),
        lastRunAt: null,
        lastStatus: null,
        createdAt: T0,
        updatedAt: T0,
      });
      expect(typeof job.epoch).toBe('number');
      expect(await c.store().getJob(scope, 'alpha')).toEqual(job);
    });

    it('re-sync updates the keys that are not overridden', async () => {
      const scope = c.scope();
      await seedJob(c.store(), scope, 'alpha');
      const next = jobConfig({ queue: 'other', timeoutMs: 10_000, params: { greeting: 'hi' }, description: 'changed' });
      const job = await c.store().syncJob(scope, 'alpha', next, { now: at(5), nextDueAt: at(999) });
      expect(job).toMatchObject({ ...next, overridden: [], createdAt: T0, updatedAt: at(5) });
    });

    // Reading of port.ts: `nextDueAt` is for inserts; an existing job keeps its next_due_at
    // on re-sync (the scheduler moves it with setNextDue/updateJob when it must).
    it('re-sync keeps the existing next_due_at', async () => {
      const scope = c.scope();
      await seedJob(c.store(), scope, 'alpha', {}, at(60));
      const job = await c.store().syncJob(scope, 'alpha', jobConfig(), { now: at(5), nextDueAt: at(999) });
      expect(job.nextDueAt).toEqual(at(60));
    });

    it('re-sync preserves settings changed at run time (schedule, params, enabled) and updates the rest', async () => {
      const scope = c.scope();
      await seedJob(c.store(), scope, 'alpha');
      await c
        .store()
        .updateJob(
          scope,
          'alpha',
          { schedule: { kind: 'every', everyMs: 5000 }, params: { greeting: 'patched' }, enabled: false },
          { now: at(1) },
        );
      const code = jobConfig({
        schedule: { kind: 'cron', cron: '*/5 * * * *', tz: 'UTC' },
        params: { greeting: 'from code' },
        enabled: true,
        timeoutMs: 42_000,
      });
      const job = await c.store().syncJob(scope, 'alpha', code, { now: at(2), nextDueAt: at(300) });
      expect(job.schedule).toEqual({ kind: 'every', everyMs: 5000 });
      expect(job.params).toEqual({ greeting: 'patched' });
      expect(job.enabled).toBe(false);
      expect(job.timeoutMs).toBe(42_000);
      expect(sorted(job.overridden)).toEqual(['enabled', 'params', 'schedule']);
      expect(await c.store().getJob(scope, 'alpha')).toEqual(job);
    });

    it('re-sync preserves a cron set at run time', async () => {
      const scope = c.scope();
      await seedJob(c.store(), scope, 'alpha', { schedule: { kind: 'cron', cron: '0 * * * *', tz: 'UTC' } });
      await c.store().updateJob(scope, 'alpha', { schedule: { kind: 'cron', cron: '30 2 * * *', tz: 'Asia/Seoul' } }, { now: at(1) });
      const job = await c
        .store()
        .syncJob(scope, 'alpha', jobConfig({ schedule: { kind: 'cron', cron: '0 * * * *', tz: 'UTC' } }), { now: at(2), nextDueAt: null });
      expect(job.schedule).toEqual({ kind: 'cron', cron: '30 2 * * *', tz: 'Asia/Seoul' });
    });
  });

  describe('upsertJob', () => {
    it('creates a job with every key overridden', async () => {
      const scope = c.scope();
      const config = jobConfig({ queue: 'q1' });
      const job = await c.store().upsertJob(scope, 'beta', config, { now: T0, nextDueAt: at(30) });
      expect(job).toMatchObject({ ...config, scope, jobId: 'beta', nextDueAt: at(30), createdAt: T0, updatedAt: T0 });
      expect(sorted(job.overridden)).toEqual(sorted(Object.keys(config)));
    });

    it('replaces an existing job, and a later code sync changes nothing', async () => {
      const scope = c.scope();
      await seedJob(c.store(), scope, 'beta');
      const config = jobConfig({ queue: 'q2', maxParallel: 3, overlap: 'allowAll' });
      const job = await c.store().upsertJob(scope, 'beta', config, { now: at(1), nextDueAt: at(90) });
      expect(job).toMatchObject({ ...config, nextDueAt: at(90), createdAt: T0, updatedAt: at(1) });
      const synced = await c.store().syncJob(scope, 'beta', jobConfig(), { now: at(2), nextDueAt: null });
      expect(synced).toMatchObject(config);
    });
  });

  describe('updateJob', () => {
    it('writes the given keys, adds them to overridden (no duplicates), and sets updatedAt', async () => {
      const scope = c.scope();
      await seedJob(c.store(), scope, 'gamma');
      await c.store().updateJob(scope, 'gamma', { maxParallel: 2 }, { now: at(1) });
      const job = await c.store().updateJob(scope, 'gamma', { maxParallel: 4, description: 'patched' }, { now: at(2) });
      expect(job).toMatchObject({ maxParallel: 4, description: 'patched', queue: 'default', updatedAt: at(2), createdAt: T0 });
      expect(sorted(job.overridden)).toEqual(['description', 'maxParallel']);
      expect(await c.store().getJob(scope, 'gamma')).toEqual(job);
    });

    it('replaces next_due_at only when nextDueAt is given (null included)', async () => {
      const scope = c.scope();
      await seedJob(c.store(), scope, 'gamma', {}, at(60));
      expect((await c.store().updateJob(scope, 'gamma', { timeoutMs: 1000 }, { now: at(1) })).nextDueAt).toEqual(at(60));
      expect((await c.store().updateJob(scope, 'gamma', {}, { now: at(1), nextDueAt: at(120) })).nextDueAt).toEqual(at(120));
      expect((await c.store().updateJob(scope, 'gamma', {}, { now: at(1), nextDueAt: null })).nextDueAt).toBeNull();
    });

    it('bumps the epoch only when asked', async () => {
      const scope = c.scope();
      const seeded = await seedJob(c.store(), scope, 'gamma');
      expect((await c.store().updateJob(scope, 'gamma', { timeoutMs: 1000 }, { now: at(1) })).epoch).toBe(seeded.epoch);
      expect((await c.store().updateJob(scope, 'gamma', {}, { now: at(1), bumpEpoch: true })).epoch).toBe(seeded.epoch + 1);
    });

    it('enabling a paused job clears its pause note, as resume does', async () => {
      const scope = c.scope();
      await seedJob(c.store(), scope, 'gamma');
      await c.store().setEnabled(scope, 'gamma', false, { now: at(1), note: 'hold' });
      expect((await c.store().updateJob(scope, 'gamma', { timeoutMs: 1000 }, { now: at(2) })).pauseNote).toBe('hold');
      expect(await c.store().updateJob(scope, 'gamma', { enabled: true }, { now: at(3) })).toMatchObject({
        enabled: true,
        pauseNote: null,
      });
    });

    it('throws ERR_JOB_NOT_FOUND for an unknown job', async () => {
      await expectCode(c.store().updateJob(c.scope(), 'nope', { maxParallel: 2 }, { now: T0 }), 'ERR_JOB_NOT_FOUND');
    });
  });

  describe('getJob / listJobs / removeJob', () => {
    it('gets null for an unknown job and lists the scope jobs', async () => {
      const scope = c.scope();
      expect(await c.store().getJob(scope, 'nope')).toBeNull();
      expect(await c.store().listJobs(scope)).toEqual([]);
      await seedJob(c.store(), scope, 'b');
      await seedJob(c.store(), scope, 'a');
      expect(sorted((await c.store().listJobs(scope)).map((j) => j.jobId))).toEqual(['a', 'b']);
    });

    it('removes a job: pending runs become cancelled, running runs get a cancel request, other jobs untouched', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'doomed');
      const other = await seedJob(c.store(), scope, 'kept');
      const pending = await seedRun(c.store(), scope, job, 'p1');
      const running = await claimOne(c.store(), await seedRun(c.store(), scope, job, 'r1'), at(1));
      const otherRun = await seedRun(c.store(), scope, other, 'o1');

      expect(await c.store().removeJob(scope, 'doomed', at(5))).toBe(true);
      expect(await c.store().getJob(scope, 'doomed')).toBeNull();
      expect(await c.store().listJobs(scope)).toHaveLength(1);
      expect(await c.store().getRun(pending.runId)).toMatchObject({ status: 'cancelled', finishedAt: at(5), error: 'job removed' });
      // Removal asks the running run to stop (HeartbeatResult.cancel: "cancel requested (cancelOther, removal)").
      expect(await c.store().getRun(running.runId)).toMatchObject({ status: 'running', cancelRequestedAt: at(5) });
      const beat = await c.store().heartbeat([running.runId], { now: at(6), workerId: 'worker-a', leaseMs: 30_000 });
      expect(beat.cancel).toEqual([running.runId]);
      expect(await c.store().getRun(otherRun.runId)).toMatchObject({ status: 'pending' });
      expect(await c.store().removeJob(scope, 'doomed', at(6))).toBe(false);
    });
  });

  describe('cancelClaimedAhead', () => {
    it("cancels only the job's pending scheduler runs due after the instant, with the reason", async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'ahead');
      const other = await seedJob(c.store(), scope, 'other');
      const claimed = await seedRun(c.store(), scope, job, 'a1', { scheduledFor: at(20), availableAt: at(20) });
      const due = await seedRun(c.store(), scope, job, 'a2', { scheduledFor: at(10), availableAt: at(10) });
      const manual = await seedRun(c.store(), scope, job, 'a3', { scheduledFor: at(30), availableAt: at(30), triggerSource: 'manual' });
      const running = await claimOne(
        c.store(),
        await seedRun(c.store(), scope, job, 'a4', { scheduledFor: at(40), availableAt: at(0) }),
        at(1),
      );
      const otherRun = await seedRun(c.store(), scope, other, 'o1', { scheduledFor: at(20), availableAt: at(20) });

      expect(await c.store().cancelClaimedAhead(scope, 'ahead', at(10), 'job paused before its slot', at(11))).toBe(1);
      expect(await c.store().getRun(claimed.runId)).toMatchObject({
        status: 'cancelled',
        error: 'job paused before its slot',
        finishedAt: at(11),
      });
      expect(await c.store().getRun(due.runId)).toMatchObject({ status: 'pending' });
      expect(await c.store().getRun(manual.runId)).toMatchObject({ status: 'pending' });
      expect(await c.store().getRun(running.runId)).toMatchObject({ status: 'running' });
      expect(await c.store().getRun(otherRun.runId)).toMatchObject({ status: 'pending' });
      expect(await c.store().cancelClaimedAhead(scope, 'ahead', at(10), 'again', at(12))).toBe(0);
    });

    it("leaves the slot at the enabled job's new next_due_at: the new schedule's first slot as well", async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'ahead');
      const kept = await seedRun(c.store(), scope, job, 'kept', { scheduledFor: at(30), availableAt: at(30) });
      const gone = await seedRun(c.store(), scope, job, 'gone', { scheduledFor: at(20), availableAt: at(20) });
      expect(await c.store().setNextDue(scope, 'ahead', job.nextDueAt, at(30))).toBe(true);
      expect(await c.store().cancelClaimedAhead(scope, 'ahead', at(11), 'schedule changed before its slot', at(11))).toBe(1);
      expect(await c.store().getRun(kept.runId)).toMatchObject({ status: 'pending' });
      expect(await c.store().getRun(gone.runId)).toMatchObject({ status: 'cancelled' });
      // Paused, the job runs no slot: that one goes too.
      await c.store().setEnabled(scope, 'ahead', false, { note: null, now: at(12) });
      expect(await c.store().cancelClaimedAhead(scope, 'ahead', at(12), 'job paused before its slot', at(12))).toBe(1);
      expect(await c.store().getRun(kept.runId)).toMatchObject({ status: 'cancelled', error: 'job paused before its slot' });
    });

    it('leaves a slot claimed after the change (created after `now`): it belongs to the new settings', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'ahead');
      const old = await seedRun(c.store(), scope, job, 'old', { scheduledFor: at(20), availableAt: at(20) });
      const [fresh] = await c
        .store()
        .insertRuns(scope, [newRun(job, runId(scope, 'new'), { scheduledFor: at(21), availableAt: at(21) })], at(12));
      expect(await c.store().cancelClaimedAhead(scope, 'ahead', at(11), 'schedule changed before its slot', at(11))).toBe(1);
      expect(await c.store().getRun(old.runId)).toMatchObject({ status: 'cancelled', error: 'schedule changed before its slot' });
      expect(await c.store().getRun(fresh!.runId)).toMatchObject({ status: 'pending', error: null });
    });
  });

  describe('setEnabled', () => {
    it('pauses with a note and resumes clearing it; each call bumps the epoch', async () => {
      const scope = c.scope();
      const seeded = await seedJob(c.store(), scope, 'delta', {}, at(60));
      const paused = await c.store().setEnabled(scope, 'delta', false, { now: at(1), note: 'maintenance' });
      expect(paused).toMatchObject({
        enabled: false,
        pauseNote: 'maintenance',
        epoch: seeded.epoch + 1,
        nextDueAt: at(60),
        updatedAt: at(1),
      });
      const resumed = await c.store().setEnabled(scope, 'delta', true, { now: at(2), nextDueAt: at(200) });
      expect(resumed).toMatchObject({ enabled: true, pauseNote: null, epoch: seeded.epoch + 2, nextDueAt: at(200), updatedAt: at(2) });
      expect(await c.store().getJob(scope, 'delta')).toEqual(resumed);
    });

    it('a pause without a note stores null', async () => {
      const scope = c.scope();
      await seedJob(c.store(), scope, 'delta');
      expect((await c.store().setEnabled(scope, 'delta', false, { now: at(1) })).pauseNote).toBeNull();
    });

    // Issue 2: "enabled" changed at run time survives a restart of the code, so a pause is an override.
    it('a pause survives a re-sync from code', async () => {
      const scope = c.scope();
      await seedJob(c.store(), scope, 'delta');
      await c.store().setEnabled(scope, 'delta', false, { now: at(1), note: 'hold' });
      const synced = await c.store().syncJob(scope, 'delta', jobConfig({ enabled: true }), { now: at(2), nextDueAt: at(60) });
      expect(synced).toMatchObject({ enabled: false, pauseNote: 'hold' });
      expect(synced.overridden).toContain('enabled');
    });

    it('throws ERR_JOB_NOT_FOUND for an unknown job', async () => {
      await expectCode(c.store().setEnabled(c.scope(), 'nope', false, { now: T0 }), 'ERR_JOB_NOT_FOUND');
    });
  });

  describe('setNextDue', () => {
    it('compare-and-sets next_due_at, null included', async () => {
      const scope = c.scope();
      await seedJob(c.store(), scope, 'eps', {}, at(60));
      expect(await c.store().setNextDue(scope, 'eps', at(59), at(120))).toBe(false);
      expect(await c.store().setNextDue(scope, 'eps', null, at(120))).toBe(false);
      expect((await c.store().getJob(scope, 'eps'))!.nextDueAt).toEqual(at(60));
      expect(await c.store().setNextDue(scope, 'eps', at(60), null)).toBe(true);
      expect(await c.store().setNextDue(scope, 'eps', null, at(180))).toBe(true);
      expect((await c.store().getJob(scope, 'eps'))!.nextDueAt).toEqual(at(180));
      expect(await c.store().setNextDue(scope, 'missing', null, at(180))).toBe(false);
    });
  });

  describe('dueJobs / earliestDue', () => {
    it('returns enabled jobs due by `before`, soonest first, up to limit', async () => {
      const scope = c.scope();
      await seedJob(c.store(), scope, 'late', {}, at(30));
      await seedJob(c.store(), scope, 'early', {}, at(10));
      await seedJob(c.store(), scope, 'mid', {}, at(20));
      await seedJob(c.store(), scope, 'edge', {}, at(40));
      await seedJob(c.store(), scope, 'future', {}, at(41));
      await seedJob(c.store(), scope, 'never', {}, null);
      await seedJob(c.store(), scope, 'off', { enabled: false }, at(1));
      await seedJob(c.store(), scope, 'paused', {}, at(2));
      await c.store().setEnabled(scope, 'paused', false, { now: T0 });

      expect((await c.store().dueJobs(scope, at(40), 10)).map((j) => j.jobId)).toEqual(['early', 'mid', 'late', 'edge']);
      expect((await c.store().dueJobs(scope, at(40), 2)).map((j) => j.jobId)).toEqual(['early', 'mid']);
      expect(await c.store().dueJobs(scope, at(5), 10)).toEqual([]);
    });

    it('earliestDue is the soonest next_due_at of an enabled job, null when none', async () => {
      const scope = c.scope();
      expect(await c.store().earliestDue(scope)).toBeNull();
      await seedJob(c.store(), scope, 'off', { enabled: false }, at(1));
      await seedJob(c.store(), scope, 'never', {}, null);
      expect(await c.store().earliestDue(scope)).toBeNull();
      await seedJob(c.store(), scope, 'b', {}, at(50));
      await seedJob(c.store(), scope, 'a', {}, at(20));
      expect(await c.store().earliestDue(scope)).toEqual(at(20));
    });

    it('ignores queue-mode jobs: an overdue chain (its link running) neither fills the LIMIT nor masks the next slot', async () => {
      const scope = c.scope();
      // Queue-mode jobs keep next_due_at <= now while their link runs; brokenChains finds the dead ones.
      await seedJob(c.store(), scope, 'chain-a', { reschedule: 'queue' }, at(1));
      await seedJob(c.store(), scope, 'chain-b', { reschedule: 'queue' }, at(2));
      expect(await c.store().dueJobs(scope, at(40), 10)).toEqual([]);
      expect(await c.store().earliestDue(scope)).toBeNull();
      await seedJob(c.store(), scope, 'slot', {}, at(30));
      await seedJob(c.store(), scope, 'later', {}, at(35));
      expect((await c.store().dueJobs(scope, at(40), 1)).map((j) => j.jobId)).toEqual(['slot']);
      expect((await c.store().dueJobs(scope, at(40), 10)).map((j) => j.jobId)).toEqual(['slot', 'later']);
      expect(await c.store().earliestDue(scope)).toEqual(at(30));
      expect((await c.store().brokenChains(scope, at(40), 10)).map((j) => j.jobId)).toEqual(['chain-a', 'chain-b']);
    });
  });
}
