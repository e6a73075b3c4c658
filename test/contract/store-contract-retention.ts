import { describe, expect, it } from 'vitest';
import type { JobRecord, RetentionDefaults, RunRecord, RunStatus, Store } from '../../src/store/port.js';
import { type ContractContext, T0, claimOne, newRun, runId, seedJob } from './store-fixtures.js';

const DAY = 86_400_000;
/** `days` days before T0. */
const ago = (days: number): Date => new Date(T0.getTime() - days * DAY);
const NO_LIMITS: RetentionDefaults = { maxAgeMs: null, keepLast: null };

/** A run recorded as `status` (final on insert), created and finished at `createdAt`. */
async function history(
  store: Store,
  scope: string,
  job: JobRecord,
  name: string,
  createdAt: Date,
  status: 'missed' | 'skipped' | 'expired' | 'cancelled' | 'pending' = 'skipped',
): Promise<RunRecord> {
  const [run] = await store.insertRuns(
    scope,
    [newRun(job, runId(scope, name), { scheduledFor: createdAt, availableAt: createdAt, status })],
    createdAt,
  );
  expect(run).toBeDefined();
  return run!;
}

/** A whole pass: the cutoffs once, then batches of `limit` until one comes back short. Returns the counts per job. */
async function pass(store: Store, scope: string, defaults: RetentionDefaults, now = T0, limit = 1000): Promise<Record<string, number>> {
  const cutoffs = await store.retentionCutoffs(scope, defaults, now);
  const total: Record<string, number> = {};
  for (;;) {
    const batch = await store.pruneRuns(scope, cutoffs, limit);
    let n = 0;
    for (const [jobId, count] of batch) {
      total[jobId] = (total[jobId] ?? 0) + count;
      n += count;
    }
    if (n < limit) return total;
  }
}

async function left(store: Store, scope: string, jobId?: string): Promise<string[]> {
  const runs = await store.listRuns(scope, { ...(jobId === undefined ? {} : { jobId }), limit: 10_000 });
  return runs.map((r) => r.runId).sort();
}

const ids = (scope: string, ...names: string[]): string[] => names.map((n) => runId(scope, n)).sort();

export function retentionContract(c: ContractContext): void {
  describe('retention', () => {
    it('maxAge: runs created and finished before now - maxAge go, younger ones stay', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'aged');
      for (const [name, days] of [
        ['d40', 40],
        ['d35', 35],
        ['d10', 10],
        ['d1', 1],
      ] as const)
        await history(c.store(), scope, job, name, ago(days));
      const cutoffs = await c.store().retentionCutoffs(scope, { maxAgeMs: 30 * DAY, keepLast: null }, T0);
      expect(cutoffs).toEqual([{ jobId: 'aged', before: ago(30) }]);
      expect(await pass(c.store(), scope, { maxAgeMs: 30 * DAY, keepLast: null })).toEqual({ aged: 2 });
      expect(await left(c.store(), scope)).toEqual(ids(scope, 'd10', 'd1'));
      // Nothing left before the cutoff: no cutoff, and another pass deletes nothing.
      expect(await c.store().retentionCutoffs(scope, { maxAgeMs: 30 * DAY, keepLast: null }, T0)).toEqual([]);
      expect(await pass(c.store(), scope, { maxAgeMs: 30 * DAY, keepLast: null })).toEqual({});
    });

    it('keepLast: the newest N runs stay, older ones go, whatever their age', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'counted');
      for (let i = 0; i < 10; i++) await history(c.store(), scope, job, `r${i}`, ago(10 - i));
      expect(await pass(c.store(), scope, { maxAgeMs: null, keepLast: 3 })).toEqual({ counted: 7 });
      expect(await left(c.store(), scope)).toEqual(ids(scope, 'r7', 'r8', 'r9'));
    });

    it('a run is pruned past either limit', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'both');
      for (let i = 0; i < 6; i++) await history(c.store(), scope, job, `r${i}`, ago(60 - 10 * i)); // 60, 50, … 10 days ago
      // keepLast 4 keeps r2..r5; maxAge 25d keeps r4, r5 (25 > 20, 10 days): the age limit binds.
      expect(await pass(c.store(), scope, { maxAgeMs: 25 * DAY, keepLast: 4 })).toEqual({ both: 4 });
      expect(await left(c.store(), scope)).toEqual(ids(scope, 'r4', 'r5'));
    });

    it('nothing pending or running is pruned, however old', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'live');
      const pending = await history(c.store(), scope, job, 'pending', ago(90), 'pending');
      const toRun = await history(c.store(), scope, job, 'running', ago(80), 'pending');
      await claimOne(c.store(), toRun, ago(80));
      await history(c.store(), scope, job, 'old', ago(70));
      await history(c.store(), scope, job, 'newest', ago(60));
      expect(await pass(c.store(), scope, { maxAgeMs: DAY, keepLast: 1 })).toEqual({ live: 1 });
      expect(await left(c.store(), scope)).toEqual(ids(scope, 'pending', 'running', 'newest'));
      expect((await c.store().getRun(pending.runId))?.status).toBe('pending');
      expect((await c.store().getRun(toRun.runId))?.status).toBe('running');
    });

    it('the last run of every job stays, even past maxAge (a removed job too)', async () => {
      const scope = c.scope();
      const lone = await seedJob(c.store(), scope, 'lone');
      await history(c.store(), scope, lone, 'only', ago(400));
      const many = await seedJob(c.store(), scope, 'many');
      for (const days of [300, 200, 100]) await history(c.store(), scope, many, `m${days}`, ago(days));
      const gone = await seedJob(c.store(), scope, 'gone');
      for (const days of [90, 80]) await history(c.store(), scope, gone, `g${days}`, ago(days));
      expect(await c.store().removeJob(scope, 'gone', ago(79))).toBe(true);
      expect(await pass(c.store(), scope, { maxAgeMs: DAY, keepLast: null })).toEqual({ many: 2, gone: 1 });
      expect(await left(c.store(), scope)).toEqual(ids(scope, 'only', 'm100', 'g80'));
    });

    it("a job's own policy overrides the scope's defaults key by key; null lifts a limit", async () => {
      const scope = c.scope();
      const own = await seedJob(c.store(), scope, 'own', { retention: { keepLast: 2 } });
      const forever = await seedJob(c.store(), scope, 'forever', { retention: { maxAgeMs: null, keepLast: null } });
      const plain = await seedJob(c.store(), scope, 'plain');
      for (const job of [own, forever, plain]) {
        for (let i = 0; i < 5; i++) await history(c.store(), scope, job, `${job.jobId}-${i}`, ago(50 - i * 10)); // 50 … 10 days ago
      }
      // Defaults: 35 days. `own` keeps its last 2 (and inherits the 35 days, which binds less);
      // `forever` keeps all; `plain` keeps those younger than 35 days.
      const totals = await pass(c.store(), scope, { maxAgeMs: 35 * DAY, keepLast: null });
      expect(totals).toEqual({ own: 3, plain: 2 });
      expect(await left(c.store(), scope, 'own')).toEqual(ids(scope, 'own-3', 'own-4'));
      expect(await left(c.store(), scope, 'forever')).toHaveLength(5);
      expect(await left(c.store(), scope, 'plain')).toEqual(ids(scope, 'plain-2', 'plain-3', 'plain-4'));
    });

    it('the run a queue-mode chain points at (scheduled for its next_due_at) stays', async () => {
      const scope = c.scope();
      const chainAt = ago(50);
      const job = await seedJob(c.store(), scope, 'chain', { reschedule: 'queue' }, chainAt);
      await history(c.store(), scope, job, 'c60', ago(60));
      // The link a pause cancelled: the reseed reads it to restart the chain instead of running the old slot.
      await history(c.store(), scope, job, 'link', chainAt, 'cancelled');
      await history(c.store(), scope, job, 'c40', ago(40));
      await history(c.store(), scope, job, 'c30', ago(30));
      expect(await pass(c.store(), scope, { maxAgeMs: DAY, keepLast: null })).toEqual({ chain: 2 });
      expect(await left(c.store(), scope)).toEqual(ids(scope, 'link', 'c30'));
    });

    it('a batch deletes at most `limit` runs, oldest first, and reports counts per job', async () => {
      const scope = c.scope();
      const a = await seedJob(c.store(), scope, 'a');
      const b = await seedJob(c.store(), scope, 'b');
      for (let i = 0; i < 5; i++) {
        await history(c.store(), scope, a, `a${i}`, ago(100 - i));
        await history(c.store(), scope, b, `b${i}`, ago(100 - i));
      }
      const cutoffs = await c.store().retentionCutoffs(scope, { maxAgeMs: null, keepLast: 1 }, T0);
      expect([...cutoffs].sort((x, y) => x.jobId.localeCompare(y.jobId))).toEqual([
        { jobId: 'a', before: ago(96) },
        { jobId: 'b', before: ago(96) },
      ]);
      const sizes: number[] = [];
      const total: Record<string, number> = {};
      for (;;) {
        const batch = await c.store().pruneRuns(scope, cutoffs, 3);
        const n = [...batch.values()].reduce((x, y) => x + y, 0);
        for (const [jobId, count] of batch) total[jobId] = (total[jobId] ?? 0) + count;
        sizes.push(n);
        if (n < 3) break;
      }
      expect(sizes).toEqual([3, 3, 2]);
      expect(total).toEqual({ a: 4, b: 4 });
      expect(await left(c.store(), scope)).toEqual(ids(scope, 'a4', 'b4'));
    });

    it('with no limits nothing is pruned; other scopes are never touched', async () => {
      const scope = c.scope();
      const other = c.scope();
      const job = await seedJob(c.store(), scope, 'keep');
      const theirs = await seedJob(c.store(), other, 'keep');
      for (let i = 0; i < 3; i++) {
        await history(c.store(), scope, job, `k${i}`, ago(100 - i));
        await history(c.store(), other, theirs, `o${i}`, ago(100 - i));
      }
      expect(await c.store().retentionCutoffs(scope, NO_LIMITS, T0)).toEqual([]);
      expect(await pass(c.store(), scope, NO_LIMITS)).toEqual({});
      // A pass in one scope deletes nothing in another.
      expect(await pass(c.store(), other, { maxAgeMs: null, keepLast: 1 })).toEqual({ keep: 2 });
      expect(await left(c.store(), scope)).toHaveLength(3);
      expect(await c.store().pruneRuns(scope, [], 10)).toEqual(new Map());
    });

    it('a pruned slot leaves no trace in the slot key (a backfill may record it again)', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'slots');
      const old = await history(c.store(), scope, job, 's1', ago(10));
      await history(c.store(), scope, job, 's2', ago(5));
      expect(await pass(c.store(), scope, { maxAgeMs: DAY, keepLast: null })).toEqual({ slots: 1 });
      expect(await c.store().getRun(old.runId)).toBeNull();
      const again = await c.store().insertRuns(scope, [newRun(job, runId(scope, 's1-again'), { scheduledFor: old.scheduledFor })], T0);
      expect(again.map((r) => r.status as RunStatus)).toEqual(['pending']);
    });
  });
}

const HOUR = 3_600_000;

/** The runs of a job newest first, as names (`runId(scope, name)` back to `name`). */
async function names(store: Store, scope: string, jobId: string, all: Map<string, string>): Promise<string[]> {
  const runs = await store.listRuns(scope, { jobId, limit: 10_000 });
  return runs.map((r) => all.get(r.runId) ?? r.runId);
}

/**
 * A pass counts from where the last one stood (its retention mark): only the runs created
 * since are read. These pin that the cutoffs stay those of a full count as history grows
 * between passes, and that a mark which cannot answer is counted again.
 */
export function retentionMarksContract(c: ContractContext): void {
  describe('retention across passes (the marks)', () => {
    it('keepLast stays exact as runs are added between passes', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'grow');
      const all = new Map<string, string>();
      let n = 0;
      const add = async (count: number) => {
        for (let i = 0; i < count; i++, n++)
          all.set((await history(c.store(), scope, job, `r${n}`, new Date(T0.getTime() - DAY + n * HOUR))).runId, `r${n}`);
      };
      const policy = { maxAgeMs: null, keepLast: 3 };
      await add(5);
      expect(await pass(c.store(), scope, policy)).toEqual({ grow: 2 });
      expect(await names(c.store(), scope, 'grow', all)).toEqual(['r4', 'r3', 'r2']);
      // Nothing added: the same cutoff, nothing before it.
      expect(await c.store().retentionCutoffs(scope, policy, T0)).toEqual([]);
      await add(2);
      expect(await pass(c.store(), scope, policy)).toEqual({ grow: 2 });
      expect(await names(c.store(), scope, 'grow', all)).toEqual(['r6', 'r5', 'r4']);
      await add(7);
      expect(await c.store().retentionCutoffs(scope, policy, T0)).toEqual([
        { jobId: 'grow', before: new Date(T0.getTime() - DAY + 11 * HOUR) },
      ]);
      expect(await pass(c.store(), scope, policy)).toEqual({ grow: 7 });
      expect(await names(c.store(), scope, 'grow', all)).toEqual(['r13', 'r12', 'r11']);
    });

    it('the age limit binds pass after pass while fewer than keepLast runs are younger', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'aging');
      for (let d = 10; d >= 1; d--) await history(c.store(), scope, job, `d${d}`, ago(d));
      const policy = { maxAgeMs: 5 * DAY + HOUR, keepLast: 100 };
      expect(await pass(c.store(), scope, policy)).toEqual({ aging: 5 }); // d10 … d6
      // A day later (one run added), then two: the ones past five days go each time.
      await history(c.store(), scope, job, 'd0', T0);
      expect(await pass(c.store(), scope, policy, new Date(T0.getTime() + DAY))).toEqual({ aging: 1 });
      expect(await pass(c.store(), scope, policy, new Date(T0.getTime() + 3 * DAY))).toEqual({ aging: 2 });
      expect(await left(c.store(), scope)).toEqual(ids(scope, 'd2', 'd1', 'd0'));
      // keepLast now binds (2 < 3 younger runs): counted from the mark, not again in full.
      expect(await pass(c.store(), scope, { maxAgeMs: 5 * DAY + HOUR, keepLast: 2 }, new Date(T0.getTime() + 3 * DAY))).toEqual({
        aging: 1,
      });
      expect(await left(c.store(), scope)).toEqual(ids(scope, 'd1', 'd0'));
    });

    it('a raised keepLast, a longer maxAge or a lifted limit is counted again: nothing more goes', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'policy');
      for (let i = 0; i < 8; i++) await history(c.store(), scope, job, `p${i}`, ago(20 - i)); // 20 … 13 days ago
      expect(await pass(c.store(), scope, { maxAgeMs: null, keepLast: 6 })).toEqual({ policy: 2 });
      // Raised: the 6 left are fewer than 7, and nothing is older than an age limit.
      expect(await c.store().retentionCutoffs(scope, { maxAgeMs: null, keepLast: 7 }, T0)).toEqual([]);
      expect(await c.store().retentionCutoffs(scope, { maxAgeMs: 30 * DAY, keepLast: 7 }, T0)).toEqual([]);
      // Lifted, then back to a keepLast lower than the first: counted in full each time.
      expect(await pass(c.store(), scope, { maxAgeMs: null, keepLast: null })).toEqual({});
      expect(await pass(c.store(), scope, { maxAgeMs: null, keepLast: 4 })).toEqual({ policy: 2 });
      expect(await left(c.store(), scope)).toEqual(ids(scope, 'p4', 'p5', 'p6', 'p7'));
      // The clock moved back past the mark: the age limit cannot answer from it, so a full count.
      expect(await c.store().retentionCutoffs(scope, { maxAgeMs: DAY, keepLast: 10 }, ago(30))).toEqual([]);
    });

    it('a batch with a later cutoff than the last pass keeps the count exact', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'later');
      for (let i = 0; i < 6; i++) await history(c.store(), scope, job, `l${i}`, ago(20 - i));
      expect(await pass(c.store(), scope, { maxAgeMs: null, keepLast: 5 })).toEqual({ later: 1 });
      // Another caller prunes past the mark (l1, l2): the mark's count follows.
      expect(await c.store().pruneRuns(scope, [{ jobId: 'later', before: ago(17.5) }], 10)).toEqual(new Map([['later', 2]]));
      await history(c.store(), scope, job, 'l6', ago(10));
      // 4 runs (l3 … l6): none beyond keepLast 3's cutoff but l3.
      expect(await pass(c.store(), scope, { maxAgeMs: null, keepLast: 3 })).toEqual({ later: 1 });
      expect(await left(c.store(), scope)).toEqual(ids(scope, 'l4', 'l5', 'l6'));
    });

    it('a run recorded later with an older creation than the last pass saw is not counted: more stay, never fewer', async () => {
      const scope = c.scope();
      const job = await seedJob(c.store(), scope, 'late');
      for (const d of [10, 9, 8, 7, 6]) await history(c.store(), scope, job, `r${d}`, ago(d));
      expect(await pass(c.store(), scope, { maxAgeMs: null, keepLast: 3 })).toEqual({ late: 2 }); // r10, r9
      await history(c.store(), scope, job, 'late', ago(7.5)); // between r8 and r7, after the pass
      await history(c.store(), scope, job, 'r5', ago(5));
      // A full count would keep r7, r6, r5 (and prune r8 and `late`); the mark did not see `late`,
      // so the cutoff is one run earlier: r8 goes, `late` stays.
      expect(await pass(c.store(), scope, { maxAgeMs: null, keepLast: 3 })).toEqual({ late: 1 });
      expect(await left(c.store(), scope)).toEqual(ids(scope, 'late', 'r7', 'r6', 'r5'));
    });
  });
}
