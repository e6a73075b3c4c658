import { afterEach, describe, expect, it } from 'vitest';
import type { LivenessHandle, LivenessKind, Store } from '../../src/store/port.js';
import { waitFor } from '../helpers/wait.js';
import { type ContractContext, T0, at, claimOne, seedJob, seedRun } from './store-fixtures.js';

/**
 * Liveness (docs/reliability.md): a handle is a session lock, closing it is the process
 * dying. Instance ids carry the scope: the liveness table is shared by every scope.
 */
export function livenessContract(c: ContractContext): void {
  describe('liveness', () => {
    const open: LivenessHandle[] = [];
    afterEach(async () => {
      await Promise.all(open.splice(0).map((handle) => handle.close()));
    });

    async function hold(kind: LivenessKind, id: string): Promise<LivenessHandle> {
      const handle = c.store().holdLiveness(kind, id);
      expect(handle).not.toBeNull();
      open.push(handle!);
      await waitFor(() => handle!.held, `the liveness lock of ${id}`);
      return handle!;
    }

    /** Closes `handle` and waits (on `observer`) until the lock is really gone. */
    async function die(handle: LivenessHandle, observer: LivenessHandle, kind: LivenessKind, id: string): Promise<void> {
      await handle.close();
      expect(await observer.awaitRelease(kind, id, 10_000)).toBe('released');
    }

    async function runningRun(store: Store, scope: string, workerId: string, name = 'r') {
      const job = await seedJob(store, scope, `job-${name}`);
      return claimOne(store, await seedRun(store, scope, job, name), T0, workerId, 600_000);
    }

    it('deadWorkerRuns: a worker whose lock is gone is returned once the grace has passed, a live one never', async () => {
      const scope = c.scope();
      const store = c.store();
      const observer = await hold('worker', `${scope}-observer`);
      const dying = await hold('worker', `${scope}-dying`);
      await hold('worker', `${scope}-alive`);
      const lost = await runningRun(store, scope, `${scope}-dying`, 'lost');
      await runningRun(store, scope, `${scope}-alive`, 'kept');
      expect(await store.deadWorkerRuns(scope, at(1), 1_000, 10)).toEqual([]);

      await die(dying, observer, 'worker', `${scope}-dying`);
      // The first pass sees the lock absent and notes when; the run waits for the grace.
      expect(await store.deadWorkerRuns(scope, at(2), 1_000, 10)).toEqual([]);
      expect(await store.deadWorkerRuns(scope, new Date(at(3).getTime() - 1), 1_000, 10)).toEqual([]);
      const dead = await store.deadWorkerRuns(scope, at(3), 1_000, 10);
      expect(dead.map((r) => r.runId)).toEqual([lost.runId]);
      expect(dead[0]).toMatchObject({ status: 'running', workerId: `${scope}-dying` });
      // Other scopes never see this scope's runs.
      expect(await store.deadWorkerRuns(c.scope(), at(3), 1_000, 10)).toEqual([]);
    });

    it('deadWorkerRuns: a worker that never took a lock keeps the lease rule', async () => {
      const scope = c.scope();
      await runningRun(c.store(), scope, `${scope}-old-worker`);
      expect(await c.store().deadWorkerRuns(scope, at(1), 0, 10)).toEqual([]);
      expect(await c.store().deadWorkerRuns(scope, at(100), 0, 10)).toEqual([]);
    });

    it('a lock taken again before the grace ends clears the absence', async () => {
      const scope = c.scope();
      const store = c.store();
      const observer = await hold('worker', `${scope}-observer`);
      const first = await hold('worker', `${scope}-w`);
      await runningRun(store, scope, `${scope}-w`);
      await die(first, observer, 'worker', `${scope}-w`);
      expect(await store.deadWorkerRuns(scope, at(1), 1_000, 10)).toEqual([]);
      await hold('worker', `${scope}-w`);
      expect(await store.deadWorkerRuns(scope, at(5), 1_000, 10)).toEqual([]);
    });

    it('completeRuns with a workerGone guard applies while the lock is absent, not once it is back', async () => {
      const scope = c.scope();
      const store = c.store();
      const observer = await hold('worker', `${scope}-observer`);
      const a = await hold('worker', `${scope}-a`);
      const b = await hold('worker', `${scope}-b`);
      const runA = await runningRun(store, scope, `${scope}-a`, 'a');
      const runB = await runningRun(store, scope, `${scope}-b`, 'b');
      await die(a, observer, 'worker', `${scope}-a`);
      await die(b, observer, 'worker', `${scope}-b`);
      await store.deadWorkerRuns(scope, at(1), 1_000, 10);
      expect((await store.deadWorkerRuns(scope, at(2), 1_000, 10)).map((r) => r.runId).sort()).toEqual([runA.runId, runB.runId].sort());
      await hold('worker', `${scope}-b`); // b came back between the scan and the reap
      const reap = (run: typeof runA, worker: string) => ({
        runId: run.runId,
        attempt: 1,
        guard: { workerGone: worker, absentBefore: at(1) },
        status: 'failed' as const,
        error: 'gone',
        finishedAt: at(2),
        retryAt: at(3),
      });
      const [ra, rb] = await store.completeRuns([reap(runA, `${scope}-a`), reap(runB, `${scope}-b`)]);
      expect(ra).toMatchObject({ applied: true, run: { status: 'pending', attempt: 2 } });
      expect(rb).toMatchObject({ applied: false, run: { status: 'running', attempt: 1 } });
      // The guard names the run's worker: another worker's absence is not this run's.
      const other = await runningRun(store, scope, `${scope}-c`, 'c');
      expect((await store.completeRuns([reap(other, `${scope}-a`)]))[0]!.applied).toBe(false);
    });

    it('the lease of a leader whose lock is gone can be taken at once, the fence moving; one without liveness keeps its lease', async () => {
      const scope = c.scope();
      const store = c.store();
      const observer = await hold('scheduler', `${scope}-observer`);
      const leader = await hold('scheduler', `${scope}-l1`);
      const first = await store.acquireLeadership(scope, `${scope}-l1`, 60_000, T0);
      expect(first.leader).toBe(true);
      expect(first.takenFromLiveHolder).toBeUndefined();
      expect((await store.acquireLeadership(scope, `${scope}-l2`, 60_000, at(1))).leader).toBe(false);
      await die(leader, observer, 'scheduler', `${scope}-l1`);
      const second = await store.acquireLeadership(scope, `${scope}-l2`, 60_000, at(2));
      // Taken from an unexpired lease through the liveness lock: the elector leads only after its grace.
      expect(second).toMatchObject({ leader: true, holder: `${scope}-l2`, takenFromLiveHolder: true });
      expect(second.fence!.epoch).toBe(first.fence!.epoch + 1);
      // Its own renewal is no takeover.
      expect((await store.acquireLeadership(scope, `${scope}-l2`, 60_000, at(3))).takenFromLiveHolder).toBeUndefined();

      const other = c.scope();
      await store.acquireLeadership(other, `${other}-plain`, 60_000, T0);
      expect((await store.acquireLeadership(other, `${other}-l2`, 60_000, at(2))).leader).toBe(false);
    });

    it('awaitRelease: released when the lock goes, unavailable for an instance that never took one', async () => {
      const scope = c.scope();
      const observer = await hold('scheduler', `${scope}-observer`);
      const leader = await hold('scheduler', `${scope}-leader`);
      expect(await observer.awaitRelease('scheduler', `${scope}-nobody`, 1_000)).toBe('unavailable');
      const waiting = observer.awaitRelease('scheduler', `${scope}-leader`, 30_000);
      await leader.close();
      expect(await waiting).toBe('released');
    });
  });
}
