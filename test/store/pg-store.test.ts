/**
 * PgStore beyond the shared contract: bad calls, fencing, exact timestamps, a bare
 * pg.Client, and LISTEN/NOTIFY fan-out that survives its connection being killed.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWarrenError } from '../../src/errors.js';
import { migrate } from '../../src/store/migrate.js';
import { PgStore } from '../../src/store/pg/index.js';
import type { JobChange } from '../../src/store/port.js';
import { randomUUID, slotRunId } from '../../src/util/uuid.js';
import { DATABASE_URL, uniqueToken } from '../helpers/env.js';
import { type TestDatabase, createTestDatabase } from '../helpers/pg.js';
import { T0, at, config, pendingRun } from '../helpers/pg-fixtures.js';
import { waitFor } from '../helpers/wait.js';

let db: TestDatabase;
let store: PgStore;

beforeAll(async () => {
  db = await createTestDatabase('pg_store');
  await migrate(db.pool, { schema: db.schema });
  store = new PgStore({ pool: db.pool, schema: db.schema });
});

afterAll(async () => {
  await store.close();
  await db.drop();
});

async function expectError(promise: Promise<unknown> | (() => unknown), code: string, field?: string, mentions?: string): Promise<void> {
  const error = await Promise.resolve()
    .then(() => (typeof promise === 'function' ? promise() : promise))
    .then(
      () => undefined,
      (err: unknown) => err,
    );
  expect(isWarrenError(error, code as never), `expected ${code}, got ${String(error)}`).toBe(true);
  if (field !== undefined) {
    expect((error as { field?: string }).field).toBe(field);
    expect((error as Error).message).toContain(field);
  }
  if (mentions !== undefined) expect((error as Error).message).toContain(mentions);
}

describe('invalid calls', () => {
  it('updateJob and setEnabled on an unknown job → ERR_JOB_NOT_FOUND naming the job', async () => {
    const scope = uniqueToken('nf');
    await expectError(store.updateJob(scope, 'ghost', { maxParallel: 2 }, { now: T0 }), 'ERR_JOB_NOT_FOUND', undefined, '`ghost`');
    await expectError(store.setEnabled(scope, 'ghost', false, { now: T0, note: 'x' }), 'ERR_JOB_NOT_FOUND', undefined, '`ghost`');
    const error = await store.updateJob(scope, 'ghost', {}, { now: T0 }).catch((err: unknown) => err);
    expect(error).toMatchObject({ code: 'ERR_JOB_NOT_FOUND', field: 'jobId', details: { scope, jobId: 'ghost' } });
  });

  it('claimSlots with a stale fence → ERR_NOT_LEADER, and nothing is written', async () => {
    const scope = uniqueToken('fence');
    await store.syncJob(scope, 'j', config(), { now: T0, nextDueAt: at(0) });
    const first = await store.acquireLeadership(scope, 'one', 10_000, T0);
    expect(first.leader).toBe(true);
    // "one" lets the lease expire; "two" takes over with a new epoch.
    const second = await store.acquireLeadership(scope, 'two', 10_000, at(20_000));
    expect(second.leader).toBe(true);
    expect(second.fence!.epoch).toBe(first.fence!.epoch + 1);
    const claim = {
      jobId: 'j',
      expectedNextDueAt: at(0),
      nextDueAt: at(1000),
      runs: [pendingRun(slotRunId(scope, 'j', at(0)), 'j', at(0))],
    };
    await expectError(store.claimSlots(scope, first.fence, [claim], at(21_000)), 'ERR_NOT_LEADER', 'fence');
    // A fence whose lease lapsed is no better, even if nobody took over.
    await expectError(store.claimSlots(scope, second.fence, [claim], at(40_000)), 'ERR_NOT_LEADER');
    expect((await store.getJob(scope, 'j'))!.nextDueAt).toEqual(at(0));
    expect(await store.listRuns(scope)).toEqual([]);
    // The live leader's fence works.
    const renewed = await store.acquireLeadership(scope, 'two', 10_000, at(40_000));
    expect(renewed.fence).toEqual(second.fence);
    expect((await store.claimSlots(scope, renewed.fence, [claim], at(40_001))).claimed).toEqual(['j']);
  });

  it('a released lease is free at once, and the next holder gets a new epoch', async () => {
    const scope = uniqueToken('rel');
    const one = await store.acquireLeadership(scope, 'one', 60_000, T0);
    expect((await store.acquireLeadership(scope, 'two', 60_000, at(1))).leader).toBe(false);
    await store.releaseLeadership(scope, 'one');
    expect(await store.getLeadership(scope, at(2))).toEqual({ leader: false, fence: null, holder: null, expiresAt: null });
    const two = await store.acquireLeadership(scope, 'two', 60_000, at(3));
    expect(two).toMatchObject({ leader: true, holder: 'two', expiresAt: at(60_003) });
    expect(two.fence!.epoch).toBeGreaterThan(one.fence!.epoch);
    // Releasing a lease held by someone else does nothing.
    await store.releaseLeadership(scope, 'one');
    expect((await store.getLeadership(scope, at(4))).holder).toBe('two');
  });

  it('bad arguments → ERR_INVALID_ARGUMENT naming the field', async () => {
    const ctx = { now: T0, leaseMs: 1000, workerId: 'w' };
    await expectError(store.listJobs(''), 'ERR_INVALID_ARGUMENT', 'scope');
    await expectError(store.getJob('Bad Scope', 'j'), 'ERR_INVALID_ARGUMENT', 'scope');
    await expectError(store.getJob('ok', ''), 'ERR_INVALID_ARGUMENT', 'jobId');
    await expectError(
      store.claimRuns([{ runId: randomUUID(), attempt: 1 }], { ...ctx, leaseMs: -5 }),
      'ERR_INVALID_ARGUMENT',
      'ctx.leaseMs',
    );
    await expectError(store.claimRuns([{ runId: randomUUID(), attempt: 0 }], ctx), 'ERR_INVALID_ARGUMENT', 'requests[0].attempt');
    await expectError(store.heartbeat([], { ...ctx, workerId: '' }), 'ERR_INVALID_ARGUMENT', 'ctx.workerId');
    await expectError(store.heartbeat([], { ...ctx, now: new Date('nope') }), 'ERR_INVALID_ARGUMENT', 'ctx.now');
    await expectError(store.dueJobs('ok', T0, 0), 'ERR_INVALID_ARGUMENT', 'limit');
    await expectError(store.acquireLeadership('ok', 'me', -1, T0), 'ERR_INVALID_ARGUMENT', 'ttlMs');
    await expectError(
      store.syncJob('ok', 'j', { ...config(), retry: undefined } as never, { now: T0, nextDueAt: null }),
      'ERR_INVALID_ARGUMENT',
      'config.retry',
    );
    await expectError(store.updateJob('ok', 'j', { nope: 1 } as never, { now: T0 }), 'ERR_INVALID_ARGUMENT', 'patch.nope');
    await expectError(store.insertRuns('ok', [pendingRun('not-a-uuid', 'j', T0)], T0), 'ERR_INVALID_ARGUMENT', 'runs[0].runId');
    await expectError(
      store.insertRuns('ok', [pendingRun(randomUUID(), 'j', new Date(Number.NaN))], T0),
      'ERR_INVALID_ARGUMENT',
      'runs[0].scheduledFor',
    );
    const claim = { jobId: 'j', expectedNextDueAt: null, nextDueAt: null, runs: [] };
    await expectError(store.claimSlots('ok', null, [claim, claim], T0), 'ERR_INVALID_ARGUMENT', 'claims[1].jobId');
    await expectError(
      store.completeRuns([
        { runId: randomUUID(), attempt: 1, guard: { workerId: 'w' }, status: 'succeeded', error: null, finishedAt: 'yesterday' as never },
      ]),
      'ERR_INVALID_ARGUMENT',
      'completions[0].finishedAt',
    );
  });

  it('run ids that are not uuids are simply not found (one bad message never fails a batch)', async () => {
    expect(await store.getRun('nope')).toBeNull();
    const [result] = await store.claimRuns([{ runId: 'nope', attempt: 1 }], { now: T0, leaseMs: 1000, workerId: 'w' });
    expect(result).toEqual({ runId: 'nope', outcome: 'not_found', run: null, job: null });
    expect(await store.heartbeat(['nope'], { now: T0, leaseMs: 1000, workerId: 'w' })).toEqual({ extended: [], cancel: ['nope'] });
  });

  it('bad options → ERR_INVALID_OPTION naming the option', () => {
    expect(() => new PgStore({ pool: db.pool, schema: 'Bad-Name' })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_OPTION', field: 'schema' }),
    );
    expect(() => new PgStore({ pool: {} as never })).toThrow(expect.objectContaining({ code: 'ERR_INVALID_OPTION', field: 'pool' }));
  });
});

describe('timestamps', () => {
  it('round-trip with exact millisecond precision, including the slot key', async () => {
    const scope = uniqueToken('ms');
    const odd = new Date('2026-03-01T12:34:56.789Z');
    const job = await store.syncJob(scope, 'j', config(), { now: odd, nextDueAt: new Date(odd.getTime() + 1) });
    expect(job.createdAt).toEqual(odd);
    expect(job.nextDueAt).toEqual(new Date(odd.getTime() + 1));
    const slot = new Date(odd.getTime() + 2);
    const [run] = await store.insertRuns(scope, [pendingRun(slotRunId(scope, 'j', slot), 'j', slot)], odd);
    expect(run!.scheduledFor).toEqual(slot);
    // 1 ms apart is a different slot; the same instant is the same slot.
    expect(await store.insertRuns(scope, [pendingRun(randomUUID(), 'j', new Date(slot.getTime() + 1))], odd)).toHaveLength(1);
    expect(await store.insertRuns(scope, [pendingRun(randomUUID(), 'j', slot)], odd)).toHaveLength(0);
  });
});

describe('a bare pg.Client', () => {
  it('runs transactions one at a time, so concurrent calls never mix their statements', async () => {
    const client = new pg.Client({ connectionString: DATABASE_URL });
    await client.connect();
    const bare = new PgStore({ pool: client, schema: db.schema });
    try {
      const scope = uniqueToken('bare');
      await bare.syncJob(scope, 'j', config({ overlap: 'skip', maxParallel: 1 }), { now: T0, nextDueAt: null });
      const runs = await bare.insertRuns(
        scope,
        [0, 1, 2, 3].map((i) => pendingRun(slotRunId(scope, 'j', at(i)), 'j', at(i))),
        T0,
      );
      const results = await Promise.all(
        runs.map((r) => bare.claimRuns([{ runId: r.runId, attempt: 1 }], { now: at(10), leaseMs: 1000, workerId: 'w' })),
      );
      expect(
        results
          .flat()
          .map((r) => r.outcome)
          .sort(),
      ).toEqual(['claimed', 'skipped', 'skipped', 'skipped']);
      const lease = await bare.acquireLeadership(scope, 'me', 1000, T0);
      expect(lease.leader).toBe(true);
    } finally {
      await bare.close();
      await client.end();
    }
  });
});

describe('job change notifications', () => {
  it('fans out by scope over one held connection, and re-LISTENs after that connection is killed', async () => {
    const scope = uniqueToken('ntf');
    const other = uniqueToken('ntf');
    const pool = db.newPool(3);
    const listening = new PgStore({ pool, schema: db.schema });
    const seen: JobChange[] = [];
    const seenOther: JobChange[] = [];
    try {
      const off = await listening.onJobChange(scope, (c) => seen.push(c));
      await listening.onJobChange(other, (c) => seenOther.push(c));
      // A throwing listener does not stop the others.
      await listening.onJobChange(scope, () => {
        throw new Error('listener bug');
      });
      expect(pool.totalCount).toBe(1);

      await store.notifyJobChange(scope, 'a');
      await waitFor(() => seen.length === 1, 'the first notification');
      expect(seen[0]).toEqual({ scope, jobId: 'a' });
      expect(seenOther).toEqual([]);

      // Kill the LISTEN backend (not the server): the store must notice and listen again.
      const killed = await db.pool.query(
        `SELECT pg_terminate_backend(pid) AS ok FROM pg_stat_activity WHERE query ILIKE $1 AND pid <> pg_backend_pid()`,
        [`LISTEN "warren_jobs_${db.schema}"%`],
      );
      expect(killed.rows.length).toBe(1);
      await waitFor(
        async () => {
          await store.notifyJobChange(scope, 'b');
          return seen.some((c) => c.jobId === 'b');
        },
        're-LISTEN after the connection was killed',
        { intervalMs: 100 },
      );

      await off();
      const before = seen.length;
      await store.notifyJobChange(other, 'c');
      await waitFor(() => seenOther.length > 0, 'the other scope still listening');
      expect(seen.length).toBe(before);
    } finally {
      await listening.close();
    }
    // close() gave the connection back without LISTEN on it.
    await waitFor(() => pool.totalCount === pool.idleCount, 'the listen client released');
    const { rows } = await pool.query('SELECT count(*)::int AS n FROM pg_listening_channels()');
    expect(rows[0].n).toBe(0);
  });

  it('gives a healthy LISTEN client back to the pool without leaving listeners on it, however often', async () => {
    // One pooled client, reused by every store in turn: each release used to add an error
    // listener to it, and many schedulers on one pool tripped Node's leak warning.
    const pool = db.newPool(1);
    const scope = uniqueToken('ntf');
    try {
      for (let i = 0; i < 15; i += 1) {
        const listening = new PgStore({ pool, schema: db.schema });
        await listening.onJobChange(scope, () => {});
        await listening.close();
      }
      const client = await pool.connect();
      try {
        expect(client.listenerCount('error')).toBeLessThanOrEqual(1);
        expect(client.listenerCount('notification')).toBe(0);
      } finally {
        client.release();
      }
    } finally {
      await pool.end();
    }
  });
});

describe('retention marks', () => {
  it('a pass writes each job its mark, and another PgStore (a new leader) counts from it', async () => {
    const scope = uniqueToken('marks');
    await store.syncJob(scope, 'm', config(), { now: T0, nextDueAt: null });
    const add = async (from: number, count: number) => {
      for (let i = from; i < from + count; i++) {
        await store.insertRuns(scope, [pendingRun(randomUUID(), 'm', at(i * 1000), { status: 'skipped' })], at(i * 1000));
      }
    };
    await add(0, 6);
    const policy = { maxAgeMs: null, keepLast: 4 };
    expect(await store.retentionCutoffs(scope, policy, at(60_000))).toEqual([{ jobId: 'm', before: at(2000) }]);
    const marks = () =>
      db.pool
        .query<{ mark_at: Date; mark_count: string; seen_at: Date }>(
          `SELECT mark_at, mark_count, seen_at FROM "${db.schema}".retention_marks WHERE scope = $1 AND job_id = 'm'`,
          [scope],
        )
        .then((r) => r.rows.map((m) => ({ at: m.mark_at.toISOString(), count: Number(m.mark_count), seen: m.seen_at.toISOString() })));
    // The cutoff, the runs at or after it, the newest run's creation.
    expect(await marks()).toEqual([{ at: at(2000).toISOString(), count: 4, seen: at(5000).toISOString() }]);
    await add(6, 3);
    const leader = new PgStore({ pool: db.pool, schema: db.schema });
    try {
      expect(await leader.retentionCutoffs(scope, policy, at(60_000))).toEqual([{ jobId: 'm', before: at(5000) }]);
      expect(await marks()).toEqual([{ at: at(5000).toISOString(), count: 4, seen: at(8000).toISOString() }]);
      // A lifted keepLast drops the mark (nothing to count).
      expect(await leader.retentionCutoffs(scope, { maxAgeMs: null, keepLast: null }, at(60_000))).toEqual([]);
      expect(await marks()).toEqual([]);
    } finally {
      await leader.close();
    }
  });
});
