import { describe, expect, it } from 'vitest';
import type { OverlapPolicy } from '../../src/define/types.js';
import { type ContractContext, T0, at, claimOne, ctx, newRun, nextSlot, runId, seedJob, seedRun } from './store-fixtures.js';

export function claimsContract(c: ContractContext): void {
  describe('claimRuns', () => {
    it('claims a pending run: running, lease = now + leaseMs, worker and start recorded; returns the job', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'work');
      const run = await seedRun(c.store(), scope, job, 'r');
      const [result] = await c.store().claimRuns([{ runId: run.runId, attempt: 1 }], ctx(at(10), 'worker-a', 30_000));
      expect(result).toMatchObject({ runId: run.runId, outcome: 'claimed' });
      expect(result!.run).toMatchObject({ status: 'running', workerId: 'worker-a', startedAt: at(10), leaseUntil: at(40), attempt: 1 });
      expect(result!.job).toMatchObject({ scope, jobId: 'work' });
      expect(await c.store().getRun(run.runId)).toEqual(result!.run);
      expect(await c.store().countRunning(scope, 'work', at(10))).toBe(1);
    });

    it('answers in request order, with not_found for unknown ids and wrong scope-less ids', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'work', { overlap: 'allowAll' });
      const a = await seedRun(c.store(), scope, job, 'a');
      const b = await seedRun(c.store(), scope, job, 'b');
      const missing = runId(scope, 'missing');
      const results = await c.store().claimRuns(
        [
          { runId: b.runId, attempt: 1 },
          { runId: missing, attempt: 1 },
          { runId: a.runId, attempt: 1 },
        ],
        ctx(at(1)),
      );
      expect(results.map((r) => [r.runId, r.outcome])).toEqual([
        [b.runId, 'claimed'],
        [missing, 'not_found'],
        [a.runId, 'claimed'],
      ]);
      expect(results[1]).toMatchObject({ run: null, job: null });
      expect(await c.store().claimRuns([], ctx(at(1)))).toEqual([]);
    });

    it('not_found when the run belongs to a removed job', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'gone');
      const run = await seedRun(c.store(), scope, job, 'r');
      await c.store().removeJob(scope, 'gone', at(1));
      const [result] = await c.store().claimRuns([{ runId: run.runId, attempt: 1 }], ctx(at(2)));
      expect(result!.outcome).toBe('not_found');
      expect(result!.job).toBeNull();
    });

    it('duplicate for a second claim, a wrong attempt, or a finished run; nothing changes', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'work', { overlap: 'allowAll' });
      const run = await seedRun(c.store(), scope, job, 'r');
      const wrong = await c.store().claimRuns([{ runId: run.runId, attempt: 2 }], ctx(at(1)));
      expect(wrong[0]!.outcome).toBe('duplicate');
      expect(await c.store().getRun(run.runId)).toEqual(run);

      const claimed = await claimOne(c.store(), run, at(2));
      const second = await c.store().claimRuns([{ runId: run.runId, attempt: 1 }], ctx(at(3), 'worker-b'));
      expect(second[0]!.outcome).toBe('duplicate');
      expect(await c.store().getRun(run.runId)).toEqual(claimed);

      await c
        .store()
        .completeRuns([
          { runId: run.runId, attempt: 1, guard: { workerId: 'worker-a' }, status: 'succeeded', error: null, finishedAt: at(4) },
        ]);
      expect((await c.store().claimRuns([{ runId: run.runId, attempt: 1 }], ctx(at(5))))[0]!.outcome).toBe('duplicate');
    });

    it('stale_epoch when the job was paused/resumed since the run was made: recorded cancelled', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'work');
      const run = await seedRun(c.store(), scope, job, 'r');
      await c.store().setEnabled(scope, 'work', false, { now: at(1) });
      await c.store().setEnabled(scope, 'work', true, { now: at(2), nextDueAt: at(60) });
      const [result] = await c.store().claimRuns([{ runId: run.runId, attempt: 1 }], ctx(at(3)));
      expect(result!.outcome).toBe('stale_epoch');
      expect(await c.store().getRun(run.runId)).toMatchObject({
        status: 'cancelled',
        finishedAt: at(3),
        startedAt: null,
        error: 'stale epoch: the job was paused, resumed or rescheduled after this run was made',
      });
    });

    // Reading: the epoch guards slots and chains; a manual run (runNow) belongs to neither,
    // so a pause/resume after it was requested does not cancel it.
    it('a manual run survives an epoch change', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'work');
      const run = await seedRun(c.store(), scope, job, 'm', { triggerSource: 'manual' });
      await c.store().updateJob(scope, 'work', {}, { now: at(1), bumpEpoch: true });
      expect((await c.store().claimRuns([{ runId: run.runId, attempt: 1 }], ctx(at(2))))[0]!.outcome).toBe('claimed');
    });

    it('expired past staleAt with its trigger published in time: the plain reason', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'work');
      const run = await seedRun(c.store(), scope, job, 'p', { staleAt: at(48) });
      await c.store().markPublished([{ runId: run.runId, attempt: 1 }], at(1));
      expect((await c.store().claimRuns([{ runId: run.runId, attempt: 1 }], ctx(at(49))))[0]!.outcome).toBe('expired');
      expect(await c.store().getRun(run.runId)).toMatchObject({ status: 'expired', error: 'not started before its stale-after deadline' });
    });

    it('a retry past its stale deadline is failed, not expired: an earlier attempt ran', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'work');
      const run = await seedRun(c.store(), scope, job, 'crashed', { staleAt: at(48) });
      await claimOne(c.store(), run, at(1));
      const [retried] = await c.store().completeRuns([
        {
          runId: run.runId,
          attempt: 1,
          guard: { workerId: 'worker-a' },
          status: 'failed',
          error: 'lease expired',
          finishedAt: at(2),
          retryAt: at(3),
        },
      ]);
      expect(retried!.run).toMatchObject({ status: 'pending', attempt: 2 });
      const late = new Date(retried!.run!.staleAt!.getTime() + 1);
      const [result] = await c.store().claimRuns([{ runId: run.runId, attempt: 2 }], ctx(late));
      expect(result!.outcome).toBe('expired');
      expect(await c.store().getRun(run.runId)).toMatchObject({
        status: 'failed',
        startedAt: null,
        error: 'attempt 2 not started before its stale-after deadline; attempt 1 ran and ended: lease expired',
      });
    });

    it('expired past staleAt: recorded expired', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'work');
      const run = await seedRun(c.store(), scope, job, 'r', { staleAt: at(48) });
      const [result] = await c.store().claimRuns([{ runId: run.runId, attempt: 1 }], ctx(at(49)));
      expect(result!.outcome).toBe('expired');
      // Never published: the reason says the trigger, not the workers, was late.
      expect(await c.store().getRun(run.runId)).toMatchObject({
        status: 'expired',
        finishedAt: at(49),
        startedAt: null,
        error: 'not started before its stale-after deadline: its trigger was not published in time (broker unreachable, or no leader)',
      });
      // Before the deadline it would have run.
      const fresh = await seedRun(c.store(), scope, job, 'r2', { staleAt: at(48) });
      expect((await c.store().claimRuns([{ runId: fresh.runId, attempt: 1 }], ctx(at(47))))[0]!.outcome).toBe('claimed');
    });

    it('early before availableAt: nothing written, claimable once available', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'work');
      const run = await seedRun(c.store(), scope, job, 'r', { availableAt: at(30) });
      expect((await c.store().claimRuns([{ runId: run.runId, attempt: 1 }], ctx(at(29))))[0]!.outcome).toBe('early');
      expect(await c.store().getRun(run.runId)).toEqual(run);
      expect((await c.store().claimRuns([{ runId: run.runId, attempt: 1 }], ctx(at(30))))[0]!.outcome).toBe('claimed');
    });

    it('claimed just ahead of its start (startAt): allowed up to a second early, recorded as started at startAt; further ahead it is early', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'work');
      const run = await seedRun(c.store(), scope, job, 'r', { availableAt: at(30) });
      const t = at(30).getTime();
      // Its start is 2 s after the claim: beyond the bound, the run is not available by then.
      const far = await c.store().claimRuns([{ runId: run.runId, attempt: 1, startAt: at(30) }], ctx(new Date(t - 2000)));
      expect(far[0]!.outcome).toBe('early');
      // A start before availableAt is no start at all.
      const before = await c.store().claimRuns([{ runId: run.runId, attempt: 1, startAt: new Date(t - 1) }], ctx(new Date(t - 20)));
      expect(before[0]!.outcome).toBe('early');
      expect(await c.store().getRun(run.runId)).toEqual(run);
      const [claimed] = await c.store().claimRuns([{ runId: run.runId, attempt: 1, startAt: at(30) }], ctx(new Date(t - 20)));
      expect(claimed!.outcome).toBe('claimed');
      expect(claimed!.run).toMatchObject({ status: 'running', startedAt: at(30), leaseUntil: new Date(t - 20 + 30_000) });
      expect(await c.store().getRun(run.runId)).toMatchObject({ status: 'running', startedAt: at(30) });
    });

    it('a startAt already past is the claim instant', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'work');
      const run = await seedRun(c.store(), scope, job, 'r', { availableAt: at(30) });
      const [claimed] = await c.store().claimRuns([{ runId: run.runId, attempt: 1, startAt: at(30) }], ctx(at(31)));
      expect(claimed!.run).toMatchObject({ status: 'running', startedAt: at(31) });
    });

    it('rejects a startAt that is not a Date', async () => {
      await expect(c.store().claimRuns([{ runId: 'x', attempt: 1, startAt: 'soon' as never }], ctx(at(1)))).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
        field: 'requests[0].startAt',
      });
    });

    describe('overlap at maxParallel', () => {
      async function busyJob(policy: OverlapPolicy, maxParallel = 1) {
        const scope = c.scope();
        const job = await seedJob(c.store(), scope, 'ovl', { overlap: policy, maxParallel });
        const holders = [];
        // Started one after the other (0 s, 1 s…), so the oldest is holders[0].
        for (let i = 0; i < maxParallel; i++)
          holders.push(await claimOne(c.store(), await seedRun(c.store(), scope, job, `h${i}`), at(i), `holder-${i}`));
        const waiting = await seedRun(c.store(), scope, job, 'w');
        return { scope, job, holders, waiting };
      }

      for (const policy of ['bufferOne', 'bufferAll'] as const) {
        it(`${policy}: busy, the run stays pending`, async () => {
          const { waiting } = await busyJob(policy);
          const [result] = await c.store().claimRuns([{ runId: waiting.runId, attempt: 1 }], ctx(at(2)));
          expect(result!.outcome).toBe('busy');
          expect(await c.store().getRun(waiting.runId)).toEqual(waiting);
        });
      }

      it('skip: recorded skipped', async () => {
        const { waiting } = await busyJob('skip');
        const [result] = await c.store().claimRuns([{ runId: waiting.runId, attempt: 1 }], ctx(at(2)));
        expect(result!.outcome).toBe('skipped');
        // The same reason as a slot the tick skips (planSlots).
        expect(await c.store().getRun(waiting.runId)).toMatchObject({
          status: 'skipped',
          finishedAt: at(2),
          error: 'overlap skip (1 running, maxParallel 1)',
        });
      });

      // Reading: `skip` passes over a scheduled slot only. A run somebody asked for (a
      // catch-up backlog, runNow, backfill, startup, the next link of a queue-mode chain)
      // waits for room: skipping it would lose what was asked, or break the chain.
      for (const source of ['catchup', 'manual', 'backfill', 'startup', 'chain'] as const) {
        it(`skip: a ${source} run is busy, not skipped`, async () => {
          const { scope, job } = await busyJob('skip');
          const asked = await seedRun(c.store(), scope, job, `asked-${source}`, { triggerSource: source });
          const [result] = await c.store().claimRuns([{ runId: asked.runId, attempt: 1 }], ctx(at(2)));
          expect(result!.outcome).toBe('busy');
          expect(await c.store().getRun(asked.runId)).toEqual(asked);
        });
      }

      it('cancelOther: claims and requests cancellation of the running one, which its heartbeat reports', async () => {
        const { scope, holders, waiting } = await busyJob('cancelOther');
        const [result] = await c.store().claimRuns([{ runId: waiting.runId, attempt: 1 }], ctx(at(2), 'worker-new'));
        expect(result!.outcome).toBe('claimed');
        expect(await c.store().getRun(holders[0]!.runId)).toMatchObject({ status: 'running', cancelRequestedAt: at(2) });
        expect((await c.store().getRun(waiting.runId))!.cancelRequestedAt).toBeNull();
        const beat = await c.store().heartbeat([holders[0]!.runId], ctx(at(3), 'holder-0'));
        expect(beat.cancel).toEqual([holders[0]!.runId]);
        expect(await c.store().countRunning(scope, 'ovl', at(3))).toBe(2);
      });

      // Reading: cancelOther makes room for the new run: it asks the oldest running runs to
      // stop, just enough to stay within maxParallel (with maxParallel 2 and 2 running: one).
      it('cancelOther at maxParallel 2 asks only the oldest running run to stop', async () => {
        const { holders, waiting } = await busyJob('cancelOther', 2);
        expect((await c.store().claimRuns([{ runId: waiting.runId, attempt: 1 }], ctx(at(2), 'worker-new')))[0]!.outcome).toBe('claimed');
        const requested = await Promise.all(holders.map(async (h) => (await c.store().getRun(h.runId))!.cancelRequestedAt));
        expect(requested).toEqual([at(2), null]);
      });

      // The order is the state machine's, not the store's: started earliest first, then the
      // lower run id; a run already asked is on its way out and is not asked again.
      it('cancelOther: among runs started at one instant the lower run id is asked first, and nobody twice', async () => {
        const scope = c.scope();
        const job = await seedJob(c.store(), scope, 'ovl', { overlap: 'cancelOther', maxParallel: 2 });
        const pair = [await seedRun(c.store(), scope, job, 'tie-a'), await seedRun(c.store(), scope, job, 'tie-b')];
        // Claimed in one batch: both start at 1 s.
        const claimed = await c.store().claimRuns(
          pair.map((r) => ({ runId: r.runId, attempt: 1 })),
          ctx(at(1), 'holder'),
        );
        expect(claimed.map((r) => r.outcome)).toEqual(['claimed', 'claimed']);
        const [low, high] = [...pair].sort((a, b) => (a.runId < b.runId ? -1 : 1));
        const first = await seedRun(c.store(), scope, job, 'w1');
        expect((await c.store().claimRuns([{ runId: first.runId, attempt: 1 }], ctx(at(2), 'worker-new')))[0]!.outcome).toBe('claimed');
        const asked = async () => Promise.all([low!, high!, first].map(async (r) => (await c.store().getRun(r.runId))!.cancelRequestedAt));
        expect(await asked()).toEqual([at(2), null, null]);
        const second = await seedRun(c.store(), scope, job, 'w2');
        expect((await c.store().claimRuns([{ runId: second.runId, attempt: 1 }], ctx(at(3), 'worker-new')))[0]!.outcome).toBe('claimed');
        expect(await asked()).toEqual([at(2), at(3), null]);
      });

      it('allowAll: ignores the limit', async () => {
        const { scope, waiting } = await busyJob('allowAll');
        expect((await c.store().claimRuns([{ runId: waiting.runId, attempt: 1 }], ctx(at(2))))[0]!.outcome).toBe('claimed');
        expect(await c.store().countRunning(scope, 'ovl', at(2))).toBe(2);
      });

      it('maxParallel 2 admits a second run before it is busy', async () => {
        const scope = c.scope();
        const job = await seedJob(c.store(), scope, 'ovl', { overlap: 'bufferAll', maxParallel: 2 });
        await claimOne(c.store(), await seedRun(c.store(), scope, job, 'a'), at(1));
        await claimOne(c.store(), await seedRun(c.store(), scope, job, 'b'), at(1));
        const third = await seedRun(c.store(), scope, job, 'c');
        expect((await c.store().claimRuns([{ runId: third.runId, attempt: 1 }], ctx(at(2))))[0]!.outcome).toBe('busy');
      });

      it('a run whose lease expired no longer counts as running', async () => {
        const { scope, waiting } = await busyJob('skip');
        // The holder's lease (0 s + 30 s) is over at 30 s.
        expect(await c.store().countRunning(scope, 'ovl', at(29))).toBe(1);
        expect(await c.store().countRunning(scope, 'ovl', at(31))).toBe(0);
        expect((await c.store().claimRuns([{ runId: waiting.runId, attempt: 1 }], ctx(at(31))))[0]!.outcome).toBe('claimed');
      });
    });
  });

  describe('heartbeat', () => {
    it('extends the live leases of the calling worker and tells it which runs to stop', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'hb', { overlap: 'allowAll' });
      const mine = await claimOne(c.store(), await seedRun(c.store(), scope, job, 'a'), at(1), 'worker-a', 10_000);
      const theirs = await claimOne(c.store(), await seedRun(c.store(), scope, job, 'b'), at(1), 'worker-b', 10_000);
      const done = await claimOne(c.store(), await seedRun(c.store(), scope, job, 'c'), at(1), 'worker-a', 10_000);
      await c
        .store()
        .completeRuns([
          { runId: done.runId, attempt: 1, guard: { workerId: 'worker-a' }, status: 'succeeded', error: null, finishedAt: at(2) },
        ]);
      const unknown = runId(scope, 'unknown');

      const beat = await c.store().heartbeat([mine.runId, theirs.runId, done.runId, unknown], ctx(at(5), 'worker-a', 10_000));
      expect(beat.extended).toEqual([mine.runId]);
      expect([...beat.cancel].sort()).toEqual([theirs.runId, done.runId, unknown].sort());
      expect((await c.store().getRun(mine.runId))!.leaseUntil).toEqual(at(15));
      expect((await c.store().getRun(theirs.runId))!.leaseUntil).toEqual(at(11));
      expect(await c.store().countRunning(scope, 'hb', at(12))).toBe(1);
      expect(await c.store().heartbeat([], ctx(at(5)))).toEqual({ extended: [], cancel: [] });
    });
  });

  describe('heartbeat after the lease ran out', () => {
    // Reading: "lease lost" means another party took the run (the reaper, a completion); a
    // lease that ran out but was not reaped is still the worker's, and extending it makes
    // the reaper's guard (lease expired before now) fail, so the run never runs twice.
    it('extends an expired lease that nobody reaped, and cancels one that was reaped', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'hb', { overlap: 'allowAll' });
      const late = await claimOne(c.store(), await seedRun(c.store(), scope, job, 'a'), at(0), 'worker-a', 10_000);
      const reaped = await claimOne(c.store(), await seedRun(c.store(), scope, job, 'b'), at(0), 'worker-a', 10_000);
      await c.store().completeRuns([
        {
          runId: reaped.runId,
          attempt: 1,
          guard: { leaseExpiredBefore: at(11) },
          status: 'timed_out',
          error: 'lease expired',
          finishedAt: at(11),
        },
      ]);
      const beat = await c.store().heartbeat([late.runId, reaped.runId], ctx(at(12), 'worker-a', 10_000));
      expect(beat).toEqual({ extended: [late.runId], cancel: [reaped.runId] });
      expect((await c.store().getRun(late.runId))!.leaseUntil).toEqual(at(22));
      const [reaper] = await c.store().completeRuns([
        {
          runId: late.runId,
          attempt: 1,
          guard: { leaseExpiredBefore: at(13) },
          status: 'timed_out',
          error: 'lease expired',
          finishedAt: at(13),
        },
      ]);
      expect(reaper!.applied).toBe(false);
    });
  });

  describe('countRunning', () => {
    it('counts running runs with a live lease, per job and scope', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'cnt', { overlap: 'allowAll' });
      await seedJob(c.store(), scope, 'other');
      expect(await c.store().countRunning(scope, 'cnt', T0)).toBe(0);
      await claimOne(c.store(), await seedRun(c.store(), scope, job, 'a'), at(1));
      await claimOne(c.store(), await seedRun(c.store(), scope, job, 'b'), at(1));
      await seedRun(c.store(), scope, job, 'c');
      expect(await c.store().countRunning(scope, 'cnt', at(2))).toBe(2);
      expect(await c.store().countRunning(scope, 'other', at(2))).toBe(0);
      expect(await c.store().countRunning(c.scope(), 'cnt', at(2))).toBe(0);
    });
  });

  describe('runningCounts', () => {
    it('counts live running and pending runs of many jobs at once; every asked job is in the map', async () => {
      const scope = c.scope();
      const cnt = await seedJob(c.store(), scope, 'cnt', { overlap: 'allowAll' });
      const other = await seedJob(c.store(), scope, 'other', { overlap: 'allowAll' });
      await seedJob(c.store(), scope, 'idle');
      await claimOne(c.store(), await seedRun(c.store(), scope, cnt, 'a'), at(1), 'worker-a', 30_000);
      await claimOne(c.store(), await seedRun(c.store(), scope, cnt, 'b'), at(1), 'worker-a', 10_000);
      await seedRun(c.store(), scope, cnt, 'c');
      await seedRun(c.store(), scope, other, 'd');
      const done = await claimOne(c.store(), await seedRun(c.store(), scope, other, 'e'), at(1));
      await c
        .store()
        .completeRuns([
          { runId: done.runId, attempt: 1, guard: { workerId: 'worker-a' }, status: 'succeeded', error: null, finishedAt: at(2) },
        ]);

      const counts = await c.store().runningCounts(scope, ['cnt', 'other', 'idle', 'missing'], at(2));
      expect(Object.fromEntries(counts)).toEqual({
        cnt: { running: 2, pending: 1 },
        other: { running: 0, pending: 1 },
        idle: { running: 0, pending: 0 },
        missing: { running: 0, pending: 0 },
      });
      // Agrees with countRunning, job by job.
      for (const [jobId, { running }] of counts) expect(running).toBe(await c.store().countRunning(scope, jobId, at(2)));
    });

    it('leaves out expired leases (lease_until <= now), other scopes, and answers an empty list with an empty map', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'cnt', { overlap: 'allowAll' });
      await claimOne(c.store(), await seedRun(c.store(), scope, job, 'a'), at(1), 'worker-a', 30_000);
      await claimOne(c.store(), await seedRun(c.store(), scope, job, 'b'), at(1), 'worker-a', 10_000);
      expect((await c.store().runningCounts(scope, ['cnt'], at(11))).get('cnt')).toEqual({ running: 1, pending: 0 });
      expect((await c.store().runningCounts(scope, ['cnt'], at(31))).get('cnt')).toEqual({ running: 0, pending: 0 });
      expect((await c.store().runningCounts(c.scope(), ['cnt'], at(2))).get('cnt')).toEqual({ running: 0, pending: 0 });
      expect((await c.store().runningCounts(scope, [], at(2))).size).toBe(0);
      // A repeated id is answered once.
      expect([...(await c.store().runningCounts(scope, ['cnt', 'cnt'], at(2))).keys()]).toEqual(['cnt']);
    });
  });

  describe('runSummaries', () => {
    it('per job: running with a live lease, and failures among its `recent` newest runs; every asked job is in the map', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'sum', { overlap: 'allowAll' });
      const other = await seedJob(c.store(), scope, 'other');
      await seedJob(c.store(), scope, 'idle');
      // By creation, oldest first: the claimed run (T0), two expired (1s), one expired (2s), one missed (3s).
      for (const name of ['e1', 'e2'])
        await c.store().insertRuns(scope, [{ ...seedable(job, runId(scope, name)), status: 'expired' }], at(1));
      await c.store().insertRuns(scope, [{ ...seedable(job, runId(scope, 'e3')), status: 'expired' }], at(2));
      await c.store().insertRuns(scope, [{ ...seedable(job, runId(scope, 'm')), status: 'missed' }], at(3));
      await claimOne(c.store(), await seedRun(c.store(), scope, job, 'running'), at(5), 'worker-a', 30_000);
      await seedRun(c.store(), scope, other, 'o');

      const all = await c.store().runSummaries(scope, ['sum', 'other', 'idle', 'missing', 'sum'], at(10), 20);
      expect(Object.fromEntries(all)).toEqual({
        sum: { running: 1, recentFailures: 3 },
        other: { running: 0, recentFailures: 0 },
        idle: { running: 0, recentFailures: 0 },
        missing: { running: 0, recentFailures: 0 },
      });
      // Agrees with countRunning and with counting listRuns' newest runs, window by window.
      for (const recent of [1, 2, 3, 4, 6]) {
        const newest = await c.store().listRuns(scope, { jobId: 'sum', limit: recent });
        const failures = newest.filter((r) => ['failed', 'dead', 'timed_out', 'expired'].includes(r.status)).length;
        expect((await c.store().runSummaries(scope, ['sum'], at(10), recent)).get('sum')).toEqual({
          running: await c.store().countRunning(scope, 'sum', at(10)),
          recentFailures: failures,
        });
      }
      // An expired lease is not running; another scope sees nothing; no ids, no entries.
      expect((await c.store().runSummaries(scope, ['sum'], at(40), 20)).get('sum')).toEqual({ running: 0, recentFailures: 3 });
      expect((await c.store().runSummaries(c.scope(), ['sum'], at(10), 20)).get('sum')).toEqual({ running: 0, recentFailures: 0 });
      expect((await c.store().runSummaries(scope, [], at(10), 20)).size).toBe(0);
    });
  });
}

/** A run created by insertRuns at the `now` it is given, on its own slot. */
function seedable(job: { jobId: string; epoch: number }, id: string) {
  return newRun(job, id, { scheduledFor: nextSlot() });
}
