import { describe, expect, it } from 'vitest';
import type { JobChange } from '../../src/store/port.js';
import { waitFor } from '../helpers/wait.js';
import { type ContractContext, T0, at, claimOne, jobConfig, newRun, runId, seedRun } from './store-fixtures.js';

export function sharedContract(c: ContractContext): void {
  describe('leadership', () => {
    it('acquires a free lease, renews its own, and refuses while another holds a live one', async () => {
      const scope = c.scope();
      const first = await c.store().acquireLeadership(scope, 'i1', 10_000, T0);
      expect(first).toMatchObject({ leader: true, holder: 'i1', expiresAt: at(10) });
      expect(first.fence).toMatchObject({ instanceId: 'i1' });

      const renewed = await c.store().acquireLeadership(scope, 'i1', 10_000, at(5));
      expect(renewed).toEqual({ leader: true, holder: 'i1', expiresAt: at(15), fence: first.fence });

      const refused = await c.store().acquireLeadership(scope, 'i2', 10_000, at(14));
      expect(refused).toEqual({ leader: false, fence: null, holder: 'i1', expiresAt: at(15) });
      expect(await c.store().getLeadership(scope, at(14))).toMatchObject({ holder: 'i1', expiresAt: at(15), fence: first.fence });
    });

    it('another instance takes over after expiry, with the fence epoch incremented', async () => {
      const scope = c.scope();
      const first = await c.store().acquireLeadership(scope, 'i1', 10_000, T0);
      const second = await c.store().acquireLeadership(scope, 'i2', 10_000, at(11));
      expect(second).toMatchObject({ leader: true, holder: 'i2', expiresAt: at(21) });
      expect(second.fence).toEqual({ instanceId: 'i2', epoch: first.fence!.epoch + 1 });
      expect((await c.store().acquireLeadership(scope, 'i1', 10_000, at(12))).leader).toBe(false);
    });

    it('release lets another instance take over at once; releasing a lease not held is a no-op', async () => {
      const scope = c.scope();
      const first = await c.store().acquireLeadership(scope, 'i1', 60_000, T0);
      await c.store().releaseLeadership(scope, 'i2');
      expect((await c.store().acquireLeadership(scope, 'i2', 60_000, at(1))).leader).toBe(false);
      await c.store().releaseLeadership(scope, 'i1');
      const second = await c.store().acquireLeadership(scope, 'i2', 60_000, at(2));
      expect(second).toMatchObject({ leader: true, holder: 'i2' });
      expect(second.fence!.epoch).toBe(first.fence!.epoch + 1);
      await c.store().releaseLeadership(c.scope(), 'i1');
    });

    // Reading: getLeadership takes no instance, so `leader` says whether anyone holds a live
    // lease; without one every field is empty.
    it('getLeadership reports the live holder, and nothing once it expired or was released', async () => {
      const scope = c.scope();
      expect(await c.store().getLeadership(scope, T0)).toEqual({ leader: false, fence: null, holder: null, expiresAt: null });
      const lead = await c.store().acquireLeadership(scope, 'i1', 10_000, T0);
      expect(await c.store().getLeadership(scope, at(5))).toEqual({ leader: true, fence: lead.fence, holder: 'i1', expiresAt: at(10) });
      expect(await c.store().getLeadership(scope, at(11))).toEqual({ leader: false, fence: null, holder: null, expiresAt: null });
      await c.store().acquireLeadership(scope, 'i1', 10_000, at(12));
      await c.store().releaseLeadership(scope, 'i1');
      expect(await c.store().getLeadership(scope, at(13))).toEqual({ leader: false, fence: null, holder: null, expiresAt: null });
    });
  });

  describe('audit', () => {
    // Reading: like run history, the audit lists newest first.
    it('appends entries with increasing ids and lists them newest first, by job, limited', async () => {
      const scope = c.scope();
      await c.store().appendAudit(scope, { jobId: 'a', action: 'create', actor: 'alice', details: { via: 'http' }, at: at(1) });
      await c.store().appendAudit(scope, { jobId: 'b', action: 'pause', at: at(2) });
      await c.store().appendAudit(scope, { jobId: 'a', action: 'update', actor: 'bob', details: { maxParallel: 2 }, at: at(3) });

      const all = await c.store().listAudit(scope);
      expect(all.map((e) => [e.jobId, e.action])).toEqual([
        ['a', 'update'],
        ['b', 'pause'],
        ['a', 'create'],
      ]);
      expect(all[0]!.id).toBeGreaterThan(all[1]!.id);
      expect(all[1]!.id).toBeGreaterThan(all[2]!.id);
      expect(all[2]).toMatchObject({ scope, jobId: 'a', action: 'create', actor: 'alice', details: { via: 'http' }, at: at(1) });
      expect(all[1]).toMatchObject({ actor: null, details: {} });
      expect((await c.store().listAudit(scope, { jobId: 'a' })).map((e) => e.action)).toEqual(['update', 'create']);
      expect((await c.store().listAudit(scope, { limit: 1 })).map((e) => e.action)).toEqual(['update']);
      expect(await c.store().listAudit(c.scope())).toEqual([]);
    });
  });

  describe('job change notification', () => {
    it('delivers notifyJobChange to the listeners of that scope only, until unsubscribed', async () => {
      const scope = c.scope();
      const otherScope = c.scope();
      const seen: JobChange[] = [];
      const other: JobChange[] = [];
      const stop = await c.store().onJobChange(scope, (change) => seen.push(change));
      const stopOther = await c.store().onJobChange(otherScope, (change) => other.push(change));

      await c.store().notifyJobChange(otherScope, 'x');
      await c.store().notifyJobChange(scope, 'a');
      await waitFor(() => seen.length >= 1 && other.length >= 1, 'both notifications');
      expect(seen).toEqual([{ scope, jobId: 'a' }]);
      expect(other).toEqual([{ scope: otherScope, jobId: 'x' }]);

      await stop();
      await c.store().notifyJobChange(scope, 'b');
      await c.store().notifyJobChange(otherScope, 'y');
      // The other scope's delivery shows this scope's would have arrived by now.
      await waitFor(() => other.length >= 2, 'the second notification of the other scope');
      expect(seen).toEqual([{ scope, jobId: 'a' }]);
      await stopOther();
    });
  });

  describe('scopes', () => {
    it('isolate jobs, runs, due lists, leadership and audit, even with the same job ids', async () => {
      const s1 = c.scope('iso');
      const s2 = c.scope('iso');
      const j1 = await c.store().syncJob(s1, 'same', jobConfig({ queue: 'one', reschedule: 'queue' }), { now: T0, nextDueAt: at(10) });
      const j2 = await c.store().syncJob(s2, 'same', jobConfig({ queue: 'two', reschedule: 'queue' }), { now: T0, nextDueAt: at(20) });
      const r1 = await seedRun(c.store(), s1, j1, 'r');
      await c.store().appendAudit(s1, { jobId: 'same', action: 'create', at: T0 });
      await c.store().acquireLeadership(s1, 'i1', 60_000, T0);

      expect((await c.store().getJob(s2, 'same'))!.queue).toBe('two');
      expect((await c.store().listJobs(s2)).map((j) => j.queue)).toEqual(['two']);
      // dueJobs/earliestDue read scheduler-mode jobs only: one in each scope, s1's due first.
      await c.store().syncJob(s1, 'slot', jobConfig({ queue: 'one' }), { now: T0, nextDueAt: at(10) });
      await c.store().syncJob(s2, 'slot', jobConfig({ queue: 'two' }), { now: T0, nextDueAt: at(20) });
      expect(await c.store().dueJobs(s2, at(15), 10)).toEqual([]);
      expect(await c.store().earliestDue(s2)).toEqual(at(20));
      expect((await c.store().dueJobs(s1, at(15), 10)).map((j) => j.queue)).toEqual(['one']);
      expect(await c.store().listRuns(s2)).toEqual([]);
      expect(await c.store().unpublishedRuns(s2, at(100), 10)).toEqual([]);
      expect(await c.store().listAudit(s2)).toEqual([]);
      expect((await c.store().acquireLeadership(s2, 'i2', 60_000, T0)).leader).toBe(true);
      expect((await c.store().brokenChains(s2, at(100), 10)).map((j) => j.jobId)).toEqual(['same']);
      expect(await c.store().brokenChains(s1, at(100), 10)).toEqual([]);

      await claimOne(c.store(), r1, at(1));
      expect(await c.store().countRunning(s2, 'same', at(2))).toBe(0);
      expect(await c.store().countRunning(s1, 'same', at(2))).toBe(1);

      // A slot claim in one scope never moves the other's job.
      await c.store().claimSlots(
        s2,
        null,
        [
          {
            jobId: 'same',
            expectedNextDueAt: at(20),
            nextDueAt: at(40),
            runs: [newRun(j2, runId(s2, 'slot'), { scheduledFor: at(20) })],
          },
        ],
        at(21),
      );
      expect((await c.store().getJob(s1, 'same'))!.nextDueAt).toEqual(at(10));
      expect(await c.store().removeJob(s2, 'same', at(22))).toBe(true);
      expect(await c.store().getJob(s1, 'same')).not.toBeNull();
      expect((await c.store().getRun(r1.runId))!.status).toBe('running');
    });
  });
}
