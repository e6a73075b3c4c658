import { describe, expect, it } from 'vitest';
import { type WarrenError, isWarrenError } from '../../src/errors.js';
import { slotRunId } from '../../src/util/uuid.js';
import { type ContractContext, T0, at, newRun, runId, seedJob, seedRun, sorted } from './store-fixtures.js';

export function slotsContract(c: ContractContext): void {
  describe('claimSlots', () => {
    it('CAS-moves next_due_at and inserts the slot runs as stored rows', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'tick', {}, at(60));
      const id = slotRunId(scope, 'tick', at(60));
      const result = await c.store().claimSlots(
        scope,
        null,
        [
          {
            jobId: 'tick',
            expectedNextDueAt: at(60),
            nextDueAt: at(120),
            runs: [newRun(job, id, { scheduledFor: at(60), availableAt: at(60), staleAt: at(108) })],
          },
        ],
        at(61),
      );
      expect(result.claimed).toEqual(['tick']);
      expect(result.conflicts).toEqual([]);
      expect(result.inserted).toHaveLength(1);
      const run = result.inserted[0]!;
      // A new run starts at attempt 1 with nothing claimed, published or finished.
      expect(run).toEqual({
        runId: id,
        scope,
        jobId: 'tick',
        scheduledFor: at(60),
        triggerSource: 'scheduler',
        attempt: 1,
        status: 'pending',
        params: { p: 1 },
        epoch: job.epoch,
        staleAt: at(108),
        availableAt: at(60),
        leaseUntil: null,
        workerId: null,
        startedAt: null,
        finishedAt: null,
        error: null,
        publishedAt: null,
        cancelRequestedAt: null,
        createdAt: at(61),
        attempts: [],
      });
      expect(await c.store().getRun(id)).toEqual(run);
      expect((await c.store().getJob(scope, 'tick'))!.nextDueAt).toEqual(at(120));
    });

    it('reports a conflict and inserts nothing for a job whose next_due_at moved', async () => {
      const scope = c.scope();
      const a = await seedJob(c.store(), scope, 'a', {}, at(60));
      const b = await seedJob(c.store(), scope, 'b', {}, at(60));
      const result = await c.store().claimSlots(
        scope,
        null,
        [
          { jobId: 'a', expectedNextDueAt: at(60), nextDueAt: at(120), runs: [newRun(a, runId(scope, 'a60'), { scheduledFor: at(60) })] },
          { jobId: 'b', expectedNextDueAt: at(30), nextDueAt: at(120), runs: [newRun(b, runId(scope, 'b60'), { scheduledFor: at(60) })] },
          { jobId: 'ghost', expectedNextDueAt: at(60), nextDueAt: at(120), runs: [] },
        ],
        at(61),
      );
      expect(result.claimed).toEqual(['a']);
      expect(sorted(result.conflicts)).toEqual(['b', 'ghost']);
      expect(result.inserted.map((r) => r.runId)).toEqual([runId(scope, 'a60')]);
      expect(await c.store().getRun(runId(scope, 'b60'))).toBeNull();
      expect((await c.store().getJob(scope, 'b'))!.nextDueAt).toEqual(at(60));
    });

    it('a second claim of the same slot loses the CAS', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'tick', {}, at(60));
      const claim = {
        jobId: 'tick',
        expectedNextDueAt: at(60),
        nextDueAt: at(120),
        runs: [newRun(job, slotRunId(scope, 'tick', at(60)), { scheduledFor: at(60) })],
      };
      expect((await c.store().claimSlots(scope, null, [claim], at(61))).claimed).toEqual(['tick']);
      const again = await c.store().claimSlots(scope, null, [claim], at(62));
      expect(again).toEqual({ claimed: [], conflicts: ['tick'], inserted: [] });
    });

    it('de-duplicates deterministic ids and (job, scheduled_for), returning only rows inserted', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'tick', {}, at(60));
      const id = slotRunId(scope, 'tick', at(60));
      await c.store().insertRuns(scope, [newRun(job, id, { scheduledFor: at(60) })], T0);
      const result = await c.store().claimSlots(
        scope,
        null,
        [
          {
            jobId: 'tick',
            expectedNextDueAt: at(60),
            nextDueAt: at(180),
            runs: [
              newRun(job, id, { scheduledFor: at(60) }),
              newRun(job, runId(scope, 'other-id-same-slot'), { scheduledFor: at(60) }),
              newRun(job, slotRunId(scope, 'tick', at(120)), { scheduledFor: at(120) }),
            ],
          },
        ],
        at(121),
      );
      expect(result.claimed).toEqual(['tick']);
      expect(result.inserted.map((r) => r.runId)).toEqual([slotRunId(scope, 'tick', at(120))]);
      expect(await c.store().getRun(runId(scope, 'other-id-same-slot'))).toBeNull();
      expect((await c.store().getJob(scope, 'tick'))!.nextDueAt).toEqual(at(180));
    });

    // Reading: a slot recorded with a final status carries its reason and is finished at `now`.
    it('records non-pending slots (missed, skipped, expired) with their reason', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'tick', {}, at(60));
      const result = await c.store().claimSlots(
        scope,
        null,
        [
          {
            jobId: 'tick',
            expectedNextDueAt: at(60),
            nextDueAt: at(300),
            runs: [
              newRun(job, runId(scope, 'm'), { scheduledFor: at(60), status: 'missed', error: 'outside the catch-up window' }),
              newRun(job, runId(scope, 's'), { scheduledFor: at(120), status: 'skipped', error: 'overlap' }),
              newRun(job, runId(scope, 'e'), { scheduledFor: at(180), status: 'expired', error: 'stale' }),
              newRun(job, runId(scope, 'p'), { scheduledFor: at(240) }),
            ],
          },
        ],
        at(250),
      );
      const byId = new Map(result.inserted.map((r) => [r.runId, r]));
      expect(byId.get(runId(scope, 'm'))).toMatchObject({ status: 'missed', error: 'outside the catch-up window', finishedAt: at(250) });
      expect(byId.get(runId(scope, 's'))).toMatchObject({ status: 'skipped', error: 'overlap', finishedAt: at(250) });
      expect(byId.get(runId(scope, 'e'))).toMatchObject({ status: 'expired', error: 'stale', finishedAt: at(250) });
      expect(byId.get(runId(scope, 'p'))).toMatchObject({ status: 'pending', error: null, finishedAt: null });
      // Only the pending one is something to publish.
      expect((await c.store().unpublishedRuns(scope, at(1000), 10)).map((r) => r.runId)).toEqual([runId(scope, 'p')]);
    });

    describe('fencing', () => {
      async function expectNotLeader(promise: Promise<unknown>): Promise<WarrenError> {
        const error = await promise.then(
          () => undefined,
          (err: unknown) => err,
        );
        expect(isWarrenError(error, 'ERR_NOT_LEADER'), `expected ERR_NOT_LEADER, got ${String(error)}`).toBe(true);
        expect((error as WarrenError).field).toBe('fence');
        return error as WarrenError;
      }

      // One text from both stores: who holds the lease now, and the fence that was refused.
      it('names the holder and the refused fence in ERR_NOT_LEADER', async () => {
        const scope = c.scope();
        const refused = await expectNotLeader(c.store().claimSlots(scope, { instanceId: 'i1', epoch: 1 }, [], at(1)));
        expect(refused.message).toBe(`Not the leader of scope \`${scope}\`: the lease is held by no one, not \`i1\` (epoch 1)`);
        const lead = await c.store().acquireLeadership(scope, 'i2', 30_000, at(1));
        const stale = await expectNotLeader(c.store().claimSlots(scope, { instanceId: 'i1', epoch: 1 }, [], at(2)));
        expect(stale.message).toBe(
          `Not the leader of scope \`${scope}\`: the lease is held by \`i2\` (epoch ${lead.fence!.epoch}), not \`i1\` (epoch 1)`,
        );
      });

      it('accepts the current leader fence and refuses a wrong or expired one, writing nothing', async () => {
        const scope = c.scope();
        const job = await seedJob(c.store(), scope, 'tick', {}, at(60));
        const claim = {
          jobId: 'tick',
          expectedNextDueAt: at(60),
          nextDueAt: at(120),
          runs: [newRun(job, slotRunId(scope, 'tick', at(60)), { scheduledFor: at(60) })],
        };

        // No lease at all.
        await expectNotLeader(c.store().claimSlots(scope, { instanceId: 'i1', epoch: 1 }, [claim], at(61)));
        const lead = await c.store().acquireLeadership(scope, 'i1', 30_000, at(50));
        expect(lead.leader).toBe(true);
        const fence = lead.fence!;
        await expectNotLeader(c.store().claimSlots(scope, { instanceId: 'i2', epoch: fence.epoch }, [claim], at(61)));
        await expectNotLeader(c.store().claimSlots(scope, { instanceId: 'i1', epoch: fence.epoch + 1 }, [claim], at(61)));
        // The lease (50 s + 30 s) is over at 81 s.
        await expectNotLeader(c.store().claimSlots(scope, fence, [claim], at(81)));
        expect((await c.store().getJob(scope, 'tick'))!.nextDueAt).toEqual(at(60));
        expect(await c.store().getRun(claim.runs[0]!.runId)).toBeNull();

        const renewed = await c.store().acquireLeadership(scope, 'i1', 30_000, at(82));
        expect(renewed.leader).toBe(true);
        const ok = await c.store().claimSlots(scope, renewed.fence!, [claim], at(83));
        expect(ok.claimed).toEqual(['tick']);
        expect(ok.inserted).toHaveLength(1);
      });

      it('refuses the old leader fence after another instance took over', async () => {
        const scope = c.scope();
        await seedJob(c.store(), scope, 'tick', {}, at(60));
        const first = await c.store().acquireLeadership(scope, 'i1', 10_000, T0);
        const second = await c.store().acquireLeadership(scope, 'i2', 10_000, at(11));
        expect(second.leader).toBe(true);
        await expectNotLeader(
          c.store().claimSlots(scope, first.fence!, [{ jobId: 'tick', expectedNextDueAt: at(60), nextDueAt: at(120), runs: [] }], at(12)),
        );
        expect(
          (
            await c
              .store()
              .claimSlots(scope, second.fence!, [{ jobId: 'tick', expectedNextDueAt: at(60), nextDueAt: at(120), runs: [] }], at(12))
          ).claimed,
        ).toEqual(['tick']);
      });
    });
  });

  describe('insertRuns', () => {
    it('inserts runs created at `now` and de-duplicates by id and by (job, scheduled_for)', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'manual', {}, null);
      const first = await c
        .store()
        .insertRuns(
          scope,
          [newRun(job, runId(scope, 'r1'), { scheduledFor: at(5), triggerSource: 'backfill', params: { x: [1, 2] }, attempt: 2 })],
          at(5),
        );
      expect(first).toHaveLength(1);
      expect(first[0]).toMatchObject({
        runId: runId(scope, 'r1'),
        scope,
        jobId: 'manual',
        triggerSource: 'backfill',
        params: { x: [1, 2] },
        attempt: 2,
        status: 'pending',
        createdAt: at(5),
      });
      const again = await c
        .store()
        .insertRuns(
          scope,
          [
            newRun(job, runId(scope, 'r1'), { scheduledFor: at(6) }),
            newRun(job, runId(scope, 'r2'), { scheduledFor: at(5) }),
            newRun(job, runId(scope, 'r3'), { scheduledFor: at(7) }),
          ],
          at(7),
        );
      expect(again.map((r) => r.runId)).toEqual([runId(scope, 'r3')]);
      expect(await c.store().insertRuns(scope, [], at(7))).toEqual([]);
    });

    it('a manual run is not a slot: manual runs share an instant with each other and with a slot, ids still de-duplicate', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'm', {}, null);
      const manual = (name: string) => newRun(job, runId(scope, name), { scheduledFor: at(5), triggerSource: 'manual' });
      const inserted = await c
        .store()
        .insertRuns(
          scope,
          [manual('a'), manual('b'), newRun(job, runId(scope, 'slot'), { scheduledFor: at(5), triggerSource: 'scheduler' }), manual('c')],
          at(5),
        );
      expect(sorted(inserted.map((r) => r.runId))).toEqual(
        sorted([runId(scope, 'a'), runId(scope, 'b'), runId(scope, 'slot'), runId(scope, 'c')]),
      );
      // The slot key still holds for the schedule's own runs, and a run id never repeats.
      const again = await c
        .store()
        .insertRuns(scope, [manual('a'), newRun(job, runId(scope, 'slot2'), { scheduledFor: at(5), triggerSource: 'catchup' })], at(6));
      expect(again).toEqual([]);
    });
  });

  describe('outbox', () => {
    it('lists pending unpublished runs created before the cut-off, and forgets them once published', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'out', {}, null);
      await c
        .store()
        .insertRuns(
          scope,
          [newRun(job, runId(scope, 'old1'), { scheduledFor: at(1) }), newRun(job, runId(scope, 'old2'), { scheduledFor: at(2) })],
          at(10),
        );
      await c.store().insertRuns(scope, [newRun(job, runId(scope, 'new'), { scheduledFor: at(3) })], at(30));
      await c.store().insertRuns(scope, [newRun(job, runId(scope, 'missed'), { scheduledFor: at(4), status: 'missed' })], at(10));

      expect(sorted((await c.store().unpublishedRuns(scope, at(20), 10)).map((r) => r.runId))).toEqual(
        sorted([runId(scope, 'old1'), runId(scope, 'old2')]),
      );
      expect(await c.store().unpublishedRuns(scope, at(20), 1)).toHaveLength(1);
      expect(await c.store().unpublishedRuns(scope, at(5), 10)).toEqual([]);

      await c.store().markPublished([{ runId: runId(scope, 'old1'), attempt: 1 }], at(21));
      expect(await c.store().getRun(runId(scope, 'old1'))).toMatchObject({ publishedAt: at(21), status: 'pending' });
      expect((await c.store().unpublishedRuns(scope, at(40), 10)).map((r) => r.runId).sort()).toEqual(
        sorted([runId(scope, 'old2'), runId(scope, 'new')]),
      );
      await c.store().markPublished([], at(22));
    });

    it('markPublished is keyed by (run id, attempt): a late mark of attempt 1 does not stamp the retry reset meanwhile', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'out', {}, null);
      const run = await seedRun(c.store(), scope, job, 'r');
      // The leader published attempt 1; a fast worker claims it and fails it before the leader marks it.
      await c.store().claimRuns([{ runId: run.runId, attempt: 1 }], { now: at(1), workerId: 'w', leaseMs: 30_000 });
      // A mark of a running attempt stamps nothing (only pending runs are marked).
      await c.store().markPublished([{ runId: run.runId, attempt: 1 }], at(1));
      expect((await c.store().getRun(run.runId))!.publishedAt).toBeNull();
      const [reset] = await c
        .store()
        .completeRuns([
          { runId: run.runId, attempt: 1, guard: { workerId: 'w' }, status: 'failed', error: 'boom', finishedAt: at(2), retryAt: at(7) },
        ]);
      expect(reset!.run).toMatchObject({ status: 'pending', attempt: 2, publishedAt: null });
      // The leader's late mark of attempt 1 lands now: the retry stays unpublished, the outbox sees it.
      await c.store().markPublished([{ runId: run.runId, attempt: 1 }], at(3));
      expect((await c.store().getRun(run.runId))!.publishedAt).toBeNull();
      expect((await c.store().unpublishedRuns(scope, at(3_600), 10)).map((r) => r.runId)).toEqual([run.runId]);
      // The retry's own mark stamps it.
      await c.store().markPublished([{ runId: run.runId, attempt: 2 }], at(4));
      expect(await c.store().getRun(run.runId)).toMatchObject({ publishedAt: at(4), attempt: 2, status: 'pending' });
      expect(await c.store().unpublishedRuns(scope, at(3_600), 10)).toEqual([]);
      // A run id that is not a uuid, or does not exist, is ignored.
      await c.store().markPublished(
        [
          { runId: 'nope', attempt: 1 },
          { runId: runId(scope, 'absent'), attempt: 1 },
        ],
        at(5),
      );
    });

    it('backstop: with republishBefore also lists pending runs published and available before it (a lost trigger), at most once per interval', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'out', {}, null);
      const mark = (name: string, sec: number) => c.store().markPublished([{ runId: runId(scope, name), attempt: 1 }], at(sec));
      await c
        .store()
        .insertRuns(
          scope,
          [
            newRun(job, runId(scope, 'lost'), { scheduledFor: at(1), availableAt: at(1) }),
            newRun(job, runId(scope, 'recent'), { scheduledFor: at(2), availableAt: at(2) }),
            newRun(job, runId(scope, 'delayed'), { scheduledFor: at(3), availableAt: at(200) }),
            newRun(job, runId(scope, 'never'), { scheduledFor: at(4), availableAt: at(4) }),
            newRun(job, runId(scope, 'taken'), { scheduledFor: at(5), availableAt: at(5) }),
          ],
          at(0),
        );
      await mark('lost', 10);
      await mark('recent', 100);
      await mark('delayed', 10);
      await mark('taken', 10);
      await c.store().claimRuns([{ runId: runId(scope, 'taken'), attempt: 1 }], { now: at(11), workerId: 'w', leaseMs: 1000 });

      // Without the option: the outbox only.
      expect((await c.store().unpublishedRuns(scope, at(5), 10)).map((r) => r.runId)).toEqual([runId(scope, 'never')]);
      // Published at 10 s and due at 1 s, unclaimed at 50 s: lost. Published at 100 s, or not due before 50 s: not.
      expect(sorted((await c.store().unpublishedRuns(scope, at(5), 10, { republishBefore: at(50) })).map((r) => r.runId))).toEqual(
        sorted([runId(scope, 'lost'), runId(scope, 'never')]),
      );
      expect(await c.store().unpublishedRuns(scope, at(5), 1, { republishBefore: at(50) })).toHaveLength(1);
      // Republishing stamps published_at again: not listed until the next interval has passed.
      await mark('lost', 60);
      expect((await c.store().getRun(runId(scope, 'lost')))!.publishedAt).toEqual(at(60));
      expect((await c.store().unpublishedRuns(scope, at(5), 10, { republishBefore: at(50) })).map((r) => r.runId)).toEqual([
        runId(scope, 'never'),
      ]);
      expect(sorted((await c.store().unpublishedRuns(scope, at(5), 10, { republishBefore: at(201) })).map((r) => r.runId))).toEqual(
        sorted([runId(scope, 'lost'), runId(scope, 'recent'), runId(scope, 'delayed'), runId(scope, 'never')]),
      );
      await expect(c.store().unpublishedRuns(scope, at(5), 10, { republishBefore: new Date(Number.NaN) })).rejects.toMatchObject({
        code: 'ERR_INVALID_ARGUMENT',
        field: 'opts.republishBefore',
      });
    });

    it('does not list a claimed run', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'out', {}, null);
      const run = await seedRun(c.store(), scope, job, 'r');
      await c.store().claimRuns([{ runId: run.runId, attempt: 1 }], { now: at(1), workerId: 'w', leaseMs: 1000 });
      expect(await c.store().unpublishedRuns(scope, at(100), 10)).toEqual([]);
    });
  });
}
