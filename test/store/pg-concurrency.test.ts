/**
 * Races on real PostgreSQL: separate pools (separate connections, separate processes'
 * worth of sessions) hitting the same rows at once. Correctness comes from the CAS on
 * next_due_at, the unique slot key and the job-row lock, never from timing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { migrate } from '../../src/store/migrate.js';
import { PgStore } from '../../src/store/pg/index.js';
import type { ClaimResult, Completion, CompletionResult, JobRecord } from '../../src/store/port.js';
import { jobKey, planClaims } from '../../src/store/decide.js';
import { slotRunId } from '../../src/util/uuid.js';
import { uniqueToken } from '../helpers/env.js';
import { type TestDatabase, createTestDatabase } from '../helpers/pg.js';
import { T0, at, config, pendingRun } from '../helpers/pg-fixtures.js';

const CLAIMERS = 8;
let db: TestDatabase;
let stores: PgStore[];
let pools: pg.Pool[];

beforeAll(async () => {
  db = await createTestDatabase('pg_race');
  await migrate(db.pool, { schema: db.schema });
  pools = Array.from({ length: CLAIMERS }, () => db.newPool(2));
  stores = pools.map((pool) => new PgStore({ pool, schema: db.schema }));
});

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await db.drop();
});

const count = async (sql: string, values: unknown[]) => Number((await db.pool.query(sql, values)).rows[0].n);

describe('claimSlots under contention', () => {
  it('8 claimers racing over 200 slots insert exactly one run per slot', async () => {
    const scope = uniqueToken('slots');
    const jobs = ['a', 'b'];
    for (const jobId of jobs) await stores[0]!.syncJob(scope, jobId, config(), { now: T0, nextDueAt: at(0) });
    const SLOTS = 100; // per job: 200 slots in all
    const claimedBy = new Map<string, number>();

    // Every claimer walks the same schedule, reading next_due_at and claiming what it sees due;
    // a lost CAS means another claimer took that slot, so it re-reads and moves on.
    await Promise.all(
      stores.map(async (store, who) => {
        for (;;) {
          const due = (await store.listJobs(scope)).filter(
            (j): j is JobRecord & { nextDueAt: Date } => j.nextDueAt !== null && j.nextDueAt.getTime() < at(SLOTS * 1000).getTime(),
          );
          if (due.length === 0) return;
          const claims = due.map((job) => {
            const slot = job.nextDueAt;
            return {
              jobId: job.jobId,
              expectedNextDueAt: slot,
              nextDueAt: new Date(slot.getTime() + 1000),
              runs: [pendingRun(slotRunId(scope, job.jobId, slot), job.jobId, slot)],
            };
          });
          const result = await store.claimSlots(scope, null, claims, T0);
          for (const jobId of result.claimed) {
            const slot = claims.find((c) => c.jobId === jobId)!.expectedNextDueAt.toISOString();
            expect(claimedBy.has(`${jobId}@${slot}`), `${jobId}@${slot} claimed twice`).toBe(false);
            claimedBy.set(`${jobId}@${slot}`, who);
          }
          for (const run of result.inserted) expect(result.claimed).toContain(run.jobId);
        }
      }),
    );

    expect(claimedBy.size).toBe(jobs.length * SLOTS);
    expect(await count(`SELECT count(*) AS n FROM "${db.schema}".runs WHERE scope = $1`, [scope])).toBe(jobs.length * SLOTS);
    expect(await count(`SELECT count(DISTINCT (job_id, scheduled_for)) AS n FROM "${db.schema}".runs WHERE scope = $1`, [scope])).toBe(
      jobs.length * SLOTS,
    );
    // The race was real: more than one claimer won slots.
    expect(new Set(claimedBy.values()).size).toBeGreaterThan(1);
  });

  it('8 concurrent inserts of one slot run leave one row', async () => {
    const scope = uniqueToken('dup');
    await stores[0]!.syncJob(scope, 'j', config(), { now: T0, nextDueAt: at(0) });
    const slot = at(0);
    const run = pendingRun(slotRunId(scope, 'j', slot), 'j', slot);
    const results = await Promise.all(stores.map((store) => store.insertRuns(scope, [run], T0)));
    expect(results.flat()).toHaveLength(1);
    expect(await count(`SELECT count(*) AS n FROM "${db.schema}".runs WHERE scope = $1`, [scope])).toBe(1);
  });
});

describe('claimRuns under contention', () => {
  it('8 workers claiming the same run: exactly one claims it', async () => {
    const scope = uniqueToken('claim');
    await stores[0]!.syncJob(scope, 'j', config({ overlap: 'allowAll' }), { now: T0, nextDueAt: null });
    for (let round = 0; round < 10; round += 1) {
      const slot = at(round * 1000);
      const [run] = await stores[0]!.insertRuns(scope, [pendingRun(slotRunId(scope, 'j', slot), 'j', slot)], T0);
      const results = await Promise.all(
        stores.map((store, i) =>
          store.claimRuns([{ runId: run!.runId, attempt: 1 }], { now: at(60_000), leaseMs: 30_000, workerId: `w${i}` }),
        ),
      );
      const outcomes = results.map((r) => r[0]!.outcome);
      expect(outcomes.filter((o) => o === 'claimed')).toHaveLength(1);
      expect(outcomes.filter((o) => o !== 'claimed').every((o) => o === 'duplicate')).toBe(true);
      const winner = results.findIndex((r) => r[0]!.outcome === 'claimed');
      expect((await stores[0]!.getRun(run!.runId))?.workerId).toBe(`w${winner}`);
    }
  });

  it('overlap maxParallel=1: concurrent claims of different runs of one job leave exactly one running', async () => {
    for (const overlap of ['skip', 'bufferOne', 'cancelOther'] as const) {
      const scope = uniqueToken(overlap);
      await stores[0]!.syncJob(scope, 'j', config({ overlap, maxParallel: 1 }), { now: T0, nextDueAt: null });
      const runs = await stores[0]!.insertRuns(
        scope,
        stores.map((_, i) => pendingRun(slotRunId(scope, 'j', at(i)), 'j', at(i))),
        T0,
      );
      expect(runs).toHaveLength(CLAIMERS);
      const results: ClaimResult[] = (
        await Promise.all(
          stores.map((store, i) =>
            store.claimRuns([{ runId: runs[i]!.runId, attempt: 1 }], { now: at(60_000), leaseMs: 30_000, workerId: `w${i}` }),
          ),
        )
      ).flat();
      const outcomes = results.map((r) => r.outcome);
      if (overlap === 'cancelOther') {
        // Each newcomer claims and asks the one before to stop: all claimed, all but the last asked to cancel.
        expect(outcomes.every((o) => o === 'claimed')).toBe(true);
        const notCancelled = await count(
          `SELECT count(*) AS n FROM "${db.schema}".runs WHERE scope = $1 AND status = 'running' AND cancel_requested_at IS NULL`,
          [scope],
        );
        expect(notCancelled).toBe(1);
      } else {
        expect(outcomes.filter((o) => o === 'claimed')).toHaveLength(1);
        expect(outcomes.filter((o) => o !== 'claimed').every((o) => o === (overlap === 'skip' ? 'skipped' : 'busy'))).toBe(true);
        expect(await count(`SELECT count(*) AS n FROM "${db.schema}".runs WHERE scope = $1 AND status = 'running'`, [scope])).toBe(1);
      }
    }
  });

  it('claims and completions of one hot job in parallel batches never deadlock and account for every run', async () => {
    const scope = uniqueToken('hot');
    await stores[0]!.syncJob(scope, 'j', config({ overlap: 'allowAll' }), { now: T0, nextDueAt: null });
    const runs = await stores[0]!.insertRuns(
      scope,
      Array.from({ length: 400 }, (_, i) => pendingRun(slotRunId(scope, 'j', at(i)), 'j', at(i))),
      T0,
    );
    const batches = Array.from({ length: CLAIMERS }, (_, w) => runs.filter((_, i) => i % CLAIMERS === w));
    await Promise.all(
      batches.map(async (mine, w) => {
        const store = stores[w]!;
        for (let i = 0; i < mine.length; i += 25) {
          const slice = mine.slice(i, i + 25);
          // Every worker also tries a neighbour's runs: duplicates are answered, never double-claimed.
          const theirs = batches[(w + 1) % CLAIMERS]!.slice(i, i + 5);
          const claimed = await store.claimRuns(
            [...slice, ...theirs].map((r) => ({ runId: r.runId, attempt: 1 })),
            { now: at(60_000), leaseMs: 30_000, workerId: `w${w}` },
          );
          const won = claimed.filter((c) => c.outcome === 'claimed').map((c) => c.run!);
          const done = await store.completeRuns(
            won.map((r) => ({
              runId: r.runId,
              attempt: 1,
              guard: { workerId: `w${w}` },
              status: 'succeeded',
              error: null,
              finishedAt: at(61_000),
            })),
          );
          expect(done.every((d) => d.applied)).toBe(true);
        }
      }),
    );
    expect(await count(`SELECT count(*) AS n FROM "${db.schema}".runs WHERE scope = $1 AND status = 'succeeded'`, [scope])).toBe(400);
    expect((await stores[0]!.getJob(scope, 'j'))?.lastStatus).toBe('succeeded');
  });
});

describe('completions and leadership under contention', () => {
  it('a worker completing and the reaper reaping the same expired lease: exactly one applies', async () => {
    const scope = uniqueToken('reap');
    await stores[0]!.syncJob(scope, 'j', config({ overlap: 'allowAll' }), { now: T0, nextDueAt: null });
    const runs = await stores[0]!.insertRuns(
      scope,
      Array.from({ length: 20 }, (_, i) => pendingRun(slotRunId(scope, 'j', at(i)), 'j', at(i))),
      T0,
    );
    await stores[0]!.claimRuns(
      runs.map((r) => ({ runId: r.runId, attempt: 1 })),
      { now: at(100), leaseMs: 1000, workerId: 'slow' },
    );
    const results = await Promise.all(
      runs.flatMap((run, i) => [
        stores[i % CLAIMERS]!.completeRuns([
          { runId: run.runId, attempt: 1, guard: { workerId: 'slow' }, status: 'succeeded', error: null, finishedAt: at(5000) },
        ]),
        stores[(i + 1) % CLAIMERS]!.completeRuns([
          {
            runId: run.runId,
            attempt: 1,
            guard: { leaseExpiredBefore: at(5000) },
            status: 'timed_out',
            error: 'lease expired',
            finishedAt: at(5000),
          },
        ]),
      ]),
    );
    for (let i = 0; i < runs.length; i += 1) {
      const applied = [results[2 * i]![0]!.applied, results[2 * i + 1]![0]!.applied];
      expect(applied.filter(Boolean), `run ${i}`).toHaveLength(1);
      const stored = await stores[0]!.getRun(runs[i]!.runId);
      expect(stored!.attempts).toHaveLength(1);
      expect(stored!.status).toBe(applied[0] ? 'succeeded' : 'timed_out');
    }
  });

  it('8 instances racing for one scope: exactly one leader, the others see it', async () => {
    const scope = uniqueToken('lead');
    const states = await Promise.all(stores.map((store, i) => store.acquireLeadership(scope, `i${i}`, 30_000, T0)));
    const leaders = states.filter((s) => s.leader);
    expect(leaders).toHaveLength(1);
    for (const state of states) expect(state.holder).toBe(leaders[0]!.holder);
  });
});

/**
 * A store whose one-statement reads and writes go through `pool`, with `between` run once
 * right after the first optimistic completion read returned: a write that lands between the
 * completion's read and its conditional update, deterministically.
 */
function storeWithWriteBetween(pool: pg.Pool, between: () => Promise<unknown>): PgStore {
  let pending: (() => Promise<unknown>) | undefined = between;
  const wrapped = {
    async query(textOrConfig: string | { text: string }, values?: unknown[]) {
      const result = await pool.query(textOrConfig as string, values);
      const text = typeof textOrConfig === 'string' ? textOrConfig : textOrConfig.text;
      if (pending !== undefined && text.includes('r.xmin::text AS row_version FROM')) {
        const run = pending;
        pending = undefined;
        await run();
      }
      return result;
    },
    connect: (callback: (err: Error | undefined, client?: pg.PoolClient) => void) => {
      pool.connect((err, client) => callback(err ?? undefined, client));
    },
  };
  return new PgStore({ pool: wrapped as unknown as pg.Pool, schema: db.schema });
}

describe('the straight claim and the optimistic completion (runs of jobs without an overlap limit)', () => {
  const ctx = (workerId: string) => ({ now: at(60_000), leaseMs: 30_000, workerId });
  const runsOf = async (scope: string, n: number) => {
    await stores[0]!.syncJob(scope, 'j', config({ overlap: 'allowAll' }), { now: T0, nextDueAt: null });
    return stores[0]!.insertRuns(
      scope,
      Array.from({ length: n }, (_, i) => pendingRun(slotRunId(scope, 'j', at(i)), 'j', at(i))),
      T0,
    );
  };

  /** Runs `fn` with a transaction open on its own connection, which has written `runId`'s row (and holds its lock) until `fn` lets it commit. */
  const rowLockedBy = async (runId: string, write: string, values: unknown[], fn: (commit: () => Promise<void>) => Promise<void>) => {
    const client = await db.pool.connect();
    try {
      await client.query('BEGIN');
      await client.query(write, [runId, ...values]);
      await fn(async () => {
        await client.query('COMMIT');
      });
    } finally {
      client.release();
    }
  };
  /**
   * Resolves once a statement on this file's schema waits for a row lock (the claim reached
   * the locked row): waiting on a row another transaction wrote shows as a `transactionid`
   * lock not granted, held by the session whose statement names the schema.
   */
  const someoneWaitsForALock = async () => {
    for (;;) {
      const { rows } = await db.pool.query(
        `SELECT count(*)::int AS n FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid
          WHERE NOT l.granted AND l.locktype = 'transactionid' AND position($1 IN a.query) > 0`,
        [db.schema],
      );
      if (rows[0].n > 0) return;
      await new Promise((resolve) => setImmediate(resolve));
    }
  };

  it('a rival claim committed while the straight claim waits for the row: the claim re-checks it and answers duplicate', async () => {
    const scope = uniqueToken('str_dup');
    const [run, other] = await runsOf(scope, 2);
    let results: ClaimResult[] = [];
    await rowLockedBy(
      run!.runId,
      `UPDATE "${db.schema}".runs SET status = 'running', worker_id = 'rival', lease_until = $2, started_at = $2 WHERE run_id = $1`,
      [at(90_000)],
      async (commit) => {
        const claiming = stores[1]!.claimRuns(
          [
            { runId: run!.runId, attempt: 1 },
            { runId: other!.runId, attempt: 1 },
          ],
          ctx('me'),
        );
        await someoneWaitsForALock();
        await commit();
        results = await claiming;
      },
    );
    expect(results.map((r) => r.outcome)).toEqual(['duplicate', 'claimed']);
    expect((await stores[0]!.getRun(run!.runId))?.workerId).toBe('rival');
    expect((await stores[0]!.getRun(other!.runId))?.workerId).toBe('me');
  });

  it('a write that does not change the decision (the publisher marking the run) is waited for and kept: the claim writes only its own columns', async () => {
    const scope = uniqueToken('str_mark');
    const [run] = await runsOf(scope, 1);
    let result: ClaimResult | undefined;
    await rowLockedBy(run!.runId, `UPDATE "${db.schema}".runs SET published_at = $2 WHERE run_id = $1`, [at(30_000)], async (commit) => {
      const claiming = stores[1]!.claimRuns([{ runId: run!.runId, attempt: 1 }], ctx('me'));
      await someoneWaitsForALock();
      await commit();
      [result] = await claiming;
    });
    expect(result!.outcome).toBe('claimed');
    const row = await stores[0]!.getRun(run!.runId);
    expect(row?.publishedAt?.toISOString()).toBe(at(30_000).toISOString());
    expect(result!.run?.publishedAt?.toISOString()).toBe(at(30_000).toISOString());
    expect(row).toMatchObject({ status: 'running', workerId: 'me' });
  });

  it('a run cancelled while the straight claim waits for it is not claimed: the locked claim answers duplicate', async () => {
    const scope = uniqueToken('str_cancel');
    const [run] = await runsOf(scope, 1);
    let result: ClaimResult | undefined;
    await rowLockedBy(
      run!.runId,
      `UPDATE "${db.schema}".runs SET status = 'cancelled', finished_at = $2, error = 'cancelled by hand' WHERE run_id = $1`,
      [at(30_000)],
      async (commit) => {
        const claiming = stores[1]!.claimRuns([{ runId: run!.runId, attempt: 1 }], ctx('me'));
        await someoneWaitsForALock();
        await commit();
        [result] = await claiming;
      },
    );
    expect(result!.outcome).toBe('duplicate');
    expect(await stores[0]!.getRun(run!.runId)).toMatchObject({ status: 'cancelled', workerId: null });
  });

  it('a job given an overlap limit is no longer claimed straight: its runs are counted under its lock', async () => {
    const scope = uniqueToken('str_limit');
    const [first, second] = await runsOf(scope, 2);
    await stores[0]!.claimRuns([{ runId: first!.runId, attempt: 1 }], ctx('earlier'));
    await stores[1]!.updateJob(scope, 'j', { overlap: 'bufferOne', maxParallel: 1 }, { now: at(30_000) });
    const [result] = await stores[2]!.claimRuns([{ runId: second!.runId, attempt: 1 }], ctx('me'));
    expect(result!.outcome).toBe('busy');
    expect((await stores[0]!.getRun(second!.runId))?.status).toBe('pending');
  });

  it('claims exactly what planClaims claims, for every combination of run states at the edges (deadline, availability, epoch, attempt, status)', async () => {
    const scope = uniqueToken('str_gen');
    await stores[0]!.syncJob(scope, 'j', config({ overlap: 'allowAll' }), { now: T0, nextDueAt: null });
    const now = at(60_000).getTime();
    // Every combination of the conditions at their edges (one millisecond either side).
    interface Case {
      i: number;
      status: 'pending' | 'running';
      storedAttempt: number;
      epoch: number;
      triggerSource: 'scheduler' | 'manual';
      staleAt: number | null;
      availableAt: number;
      startAt: Date | undefined;
      cancelRequested: boolean;
    }
    const cases: Case[] = [];
    for (const staleAt of [null, now - 1, now, now + 1])
      for (const startAhead of [undefined, 500, 1500])
        for (const availableOffset of [-1, 0, 1])
          for (const [epoch, triggerSource] of [
            [0, 'scheduler'],
            [1, 'scheduler'],
            [1, 'manual'],
          ] as const)
            for (const [status, storedAttempt] of [
              ['pending', 1],
              ['running', 1],
              ['pending', 2],
            ] as const) {
              const i = cases.length;
              const startsAt = startAhead === undefined ? now : Math.min(now + startAhead, now + 1000);
              cases.push({
                i,
                status,
                storedAttempt,
                epoch,
                triggerSource,
                staleAt,
                availableAt: startsAt + availableOffset,
                startAt: startAhead === undefined ? undefined : new Date(now + startAhead),
                cancelRequested: i % 2 === 1,
              });
            }
    const runs = await stores[0]!.insertRuns(
      scope,
      cases.map((c) =>
        pendingRun(slotRunId(scope, 'j', at(c.i)), 'j', at(c.i), {
          epoch: c.epoch,
          triggerSource: c.triggerSource,
          staleAt: c.staleAt === null ? null : new Date(c.staleAt),
          availableAt: new Date(c.availableAt),
          attempt: c.storedAttempt,
        }),
      ),
      T0,
    );
    for (const [k, c] of cases.entries()) {
      await db.pool.query(`UPDATE "${db.schema}".runs SET status = $2, cancel_requested_at = $3 WHERE run_id = $1`, [
        runs[k]!.runId,
        c.status,
        c.cancelRequested ? at(1) : null,
      ]);
    }
    const job = (await stores[0]!.getJob(scope, 'j'))!;
    const requests = cases.map((c, k) => ({ runId: runs[k]!.runId, attempt: 1, ...(c.startAt ? { startAt: c.startAt } : {}) }));
    const claimCtx = { ...ctx('me'), now: new Date(now) };
    // The decision on the rows as they stand, one request at a time (each run is its own).
    const expected = [];
    for (const request of requests) {
      const row = (await stores[0]!.getRun(request.runId))!;
      const plan = planClaims([request], new Map([[row.runId, row]]), new Map([[jobKey(scope, 'j'), job]]), claimCtx);
      expected.push({ outcome: plan.results[0]!.outcome, written: plan.updates.get(row.runId) ?? row });
    }
    const results = await stores[1]!.claimRuns(requests, claimCtx);
    expect(results.map((r) => r.outcome)).toEqual(expected.map((e) => e.outcome));
    expect(new Set(results.map((r) => r.outcome)).size).toBeGreaterThanOrEqual(4);
    for (const [k, request] of requests.entries()) {
      const row = await stores[0]!.getRun(request.runId);
      const want = expected[k]!.written;
      expect(row, `case ${JSON.stringify(cases[k])}`).toMatchObject({
        status: want.status,
        workerId: want.workerId,
        leaseUntil: want.leaseUntil,
        startedAt: want.startedAt,
        cancelRequestedAt: want.cancelRequestedAt,
        finishedAt: want.finishedAt,
        error: want.error,
      });
    }
  });

  const done = (runId: string, guard: Completion['guard']): Completion => ({
    runId,
    attempt: 1,
    guard,
    status: 'succeeded',
    error: null,
    finishedAt: at(61_000),
  });

  it('a completion whose run was reaped between the read and the write is not applied (the locked path sees the reap)', async () => {
    const scope = uniqueToken('opt_reap');
    const [run] = await runsOf(scope, 1);
    await stores[0]!.claimRuns([{ runId: run!.runId, attempt: 1 }], ctx('me'));
    let reaped: CompletionResult[] = [];
    const store = storeWithWriteBetween(db.newPool(2), async () => {
      reaped = await stores[1]!.completeRuns([
        { ...done(run!.runId, { leaseExpiredBefore: at(200_000) }), status: 'timed_out', error: 'lease expired' },
      ]);
    });
    const [result] = await store.completeRuns([done(run!.runId, { workerId: 'me' })]);
    expect(reaped.map((r) => r.applied)).toEqual([true]);
    expect(result!.applied).toBe(false);
    const row = await stores[0]!.getRun(run!.runId);
    expect(row?.status).toBe('timed_out');
    expect(row?.attempts).toHaveLength(1);
    await store.close();
  });

  it('a heartbeat between the read and the write of a completion sends it through the locked path, which applies it and updates the job', async () => {
    const scope = uniqueToken('opt_beat');
    const [run, other] = await runsOf(scope, 2);
    await stores[0]!.claimRuns(
      [run!, other!].map((r) => ({ runId: r.runId, attempt: 1 })),
      ctx('me'),
    );
    const store = storeWithWriteBetween(db.newPool(2), () => stores[1]!.heartbeat([run!.runId], { ...ctx('me'), leaseMs: 90_000 }));
    const results = await store.completeRuns([
      done(run!.runId, { workerId: 'me' }),
      { ...done(other!.runId, { workerId: 'me' }), status: 'failed', error: 'boom' },
    ]);
    expect(results.map((r) => r.applied)).toEqual([true, true]);
    expect((await stores[0]!.getRun(run!.runId))?.status).toBe('succeeded');
    expect((await stores[0]!.getRun(other!.runId))?.status).toBe('failed');
    // All or nothing: one statement wrote both runs and the job, or the locked path did.
    const job = await stores[0]!.getJob(scope, 'j');
    expect(job?.lastStatus).toBe('failed');
    expect(job?.lastRunAt?.toISOString()).toBe(at(61_000).toISOString());
    await store.close();
  });

  /** A store over `pool` that counts its optimistic reads (the statement selecting runs with their row versions). */
  const countingStore = (pool: pg.Pool) => {
    const counts = { reads: 0 };
    const wrapped = {
      query(textOrConfig: string | { text: string }, values?: unknown[]) {
        const text = typeof textOrConfig === 'string' ? textOrConfig : textOrConfig.text;
        if (text.includes('r.xmin::text AS row_version FROM')) counts.reads += 1;
        return pool.query(textOrConfig as string, values);
      },
      connect: (callback: (err: Error | undefined, client?: pg.PoolClient) => void) => {
        pool.connect((err, client) => callback(err ?? undefined, client));
      },
    };
    return { store: new PgStore({ pool: wrapped as unknown as pg.Pool, schema: db.schema }), counts };
  };

  it('a run claimed by this store completes without being read again (its copy, checked by row version)', async () => {
    const scope = uniqueToken('opt_kept');
    const [run, other] = await runsOf(scope, 2);
    const { store, counts } = countingStore(db.newPool(2));
    const claimed = await store.claimRuns(
      [run!, other!].map((r) => ({ runId: r.runId, attempt: 1 })),
      ctx('me'),
    );
    expect(claimed.map((r) => r.outcome)).toEqual(['claimed', 'claimed']);
    // Claimed straight: no read.
    expect(counts.reads).toBe(0);
    const results = await store.completeRuns([
      done(run!.runId, { workerId: 'me' }),
      { ...done(other!.runId, { workerId: 'me' }), status: 'failed', error: 'boom' },
    ]);
    expect(results.map((r) => r.applied)).toEqual([true, true]);
    expect(counts.reads).toBe(0);
    expect(await stores[0]!.getRun(run!.runId)).toMatchObject({ status: 'succeeded', workerId: 'me', attempt: 1 });
    expect(await stores[0]!.getRun(other!.runId)).toMatchObject({ status: 'failed', error: 'boom' });
    expect((await stores[0]!.getJob(scope, 'j'))?.lastStatus).toBe('failed');
    await store.close();
  });

  it('a run written since this store claimed it (a heartbeat) is read again, and its completion applies', async () => {
    const scope = uniqueToken('opt_kept_beat');
    const [run] = await runsOf(scope, 1);
    const { store, counts } = countingStore(db.newPool(2));
    await store.claimRuns([{ runId: run!.runId, attempt: 1 }], ctx('me'));
    await stores[1]!.heartbeat([run!.runId], { ...ctx('me'), leaseMs: 90_000 });
    const [result] = await store.completeRuns([done(run!.runId, { workerId: 'me' })]);
    expect(result!.applied).toBe(true);
    expect(counts.reads).toBe(1);
    expect(await stores[0]!.getRun(run!.runId)).toMatchObject({ status: 'succeeded', leaseUntil: null });
    await store.close();
  });

  it('a run reaped since this store claimed it: the completion is not applied, and the reap stands', async () => {
    const scope = uniqueToken('opt_kept_reap');
    const [run] = await runsOf(scope, 1);
    const { store } = countingStore(db.newPool(2));
    await store.claimRuns([{ runId: run!.runId, attempt: 1 }], ctx('me'));
    const reaped = await stores[1]!.completeRuns([
      { ...done(run!.runId, { leaseExpiredBefore: at(200_000) }), status: 'timed_out', error: 'lease expired' },
    ]);
    expect(reaped.map((r) => r.applied)).toEqual([true]);
    const [result] = await store.completeRuns([done(run!.runId, { workerId: 'me' })]);
    expect(result!.applied).toBe(false);
    expect(await stores[0]!.getRun(run!.runId)).toMatchObject({ status: 'timed_out', error: 'lease expired' });
    await store.close();
  });

  it('a batch mixing runs of a limited job and of an unlimited one answers each in request order, both ways round', async () => {
    const scope = uniqueToken('opt_mixed');
    await stores[0]!.syncJob(scope, 'free', config({ overlap: 'allowAll' }), { now: T0, nextDueAt: null });
    await stores[0]!.syncJob(scope, 'one', config({ overlap: 'skip', maxParallel: 1 }), { now: T0, nextDueAt: null });
    const free = await stores[0]!.insertRuns(
      scope,
      [0, 1, 2, 3].map((i) => pendingRun(slotRunId(scope, 'free', at(i)), 'free', at(i))),
      T0,
    );
    const one = await stores[0]!.insertRuns(
      scope,
      [0, 1, 2, 3].map((i) => pendingRun(slotRunId(scope, 'one', at(i)), 'one', at(i))),
      T0,
    );
    const store = new PgStore({ pool: db.newPool(2), schema: db.schema });
    // First batch: the store has seen no limited job yet (optimistic read first, the limited
    // job's runs then locked); the second follows one that had a limited job (locked path only).
    for (const k of [0, 2]) {
      const results = await store.claimRuns(
        [free[k]!, one[k]!, free[k + 1]!, one[k + 1]!, free[k]!].map((r) => ({ runId: r.runId, attempt: 1 })),
        ctx(`w${k}`),
      );
      expect(results.map((r) => [r.runId, r.outcome])).toEqual([
        [free[k]!.runId, 'claimed'],
        [one[k]!.runId, k === 0 ? 'claimed' : 'skipped'],
        [free[k + 1]!.runId, 'claimed'],
        [one[k + 1]!.runId, 'skipped'],
        [free[k]!.runId, 'duplicate'],
      ]);
    }
    expect(await count(`SELECT count(*) AS n FROM "${db.schema}".runs WHERE scope = $1 AND status = 'running'`, [scope])).toBe(5);
    await store.close();
  });
});
