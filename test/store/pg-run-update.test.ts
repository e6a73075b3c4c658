/**
 * PgStore's run update writes only the columns a batch changes (src/store/pg/run-update.ts):
 * a column trigger on this file's `runs` notes every column an UPDATE sets, and each row
 * read back is what the plan decided. Both paths: the straight claim and optimistic completion
 * (`allowAll`) and the locked transaction (a job with an overlap limit).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/store/migrate.js';
import { PgStore } from '../../src/store/pg/index.js';
import { RUN_UPDATE_COLUMNS } from '../../src/store/pg/queries.js';
import { randomUUID } from '../../src/util/uuid.js';
import { uniqueToken } from '../helpers/env.js';
import { type TestDatabase, createTestDatabase } from '../helpers/pg.js';
import { at, config, pendingRun } from '../helpers/pg-fixtures.js';

let db: TestDatabase;

beforeAll(async () => {
  db = await createTestDatabase('pg_run_update');
  await migrate(db.pool, { schema: db.schema });
  const s = `"${db.schema}"`;
  await db.pool.query(`CREATE TABLE ${s}.written (n bigserial PRIMARY KEY, run_id uuid NOT NULL, col text NOT NULL)`);
  await db.pool.query(`CREATE FUNCTION ${s}.note_written() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN INSERT INTO ${s}.written (run_id, col) VALUES (NEW.run_id, TG_ARGV[0]); RETURN NEW; END $$`);
  // An `UPDATE OF col` trigger fires when the statement sets the column, whatever the value.
  for (const [col] of RUN_UPDATE_COLUMNS) {
    await db.pool.query(`CREATE TRIGGER note_${col} BEFORE UPDATE OF ${col} ON ${s}.runs
      FOR EACH ROW EXECUTE FUNCTION ${s}.note_written('${col}')`);
  }
});

afterAll(async () => {
  await db.drop();
});

/** The columns set on `runId`'s row since the last call, in RUN_UPDATE_COLUMNS order. */
async function written(runId: string): Promise<string[]> {
  const { rows } = await db.pool.query(`DELETE FROM "${db.schema}".written WHERE run_id = $1 RETURNING col`, [runId]);
  const set = new Set(rows.map((r) => r.col as string));
  return RUN_UPDATE_COLUMNS.map(([col]) => col).filter((col) => set.has(col));
}

const LEASE = ['status', 'lease_until', 'worker_id', 'started_at'];
/** What a claim sets: the straight claim of an `allowAll` job's run always clears the cancel request too (one fixed statement). */
const claimSets = (overlap: string) => (overlap === 'allowAll' ? [...LEASE, 'cancel_requested_at'] : LEASE);
const ctx = (ms: number) => ({ workerId: 'w1', now: at(ms), leaseMs: 30_000 });

describe.each(['allowAll', 'skip'] as const)('run updates of a %s job', (overlap) => {
  it('a claim sets the lease columns only, the attempt history stays; every row is what its plan says', async () => {
    const store = new PgStore({ pool: db.pool, schema: db.schema });
    const scope = uniqueToken('cols');
    await store.upsertJob(scope, 'j', config({ overlap }), { now: at(0), nextDueAt: null });
    const runId = randomUUID();
    await store.insertRuns(scope, [pendingRun(runId, 'j', at(0))], at(0));
    await store.markPublished([{ runId, attempt: 1 }], at(0));
    await written(runId);

    const [first] = await store.claimRuns([{ runId, attempt: 1 }], ctx(1000));
    expect(first!.outcome).toBe('claimed');
    expect(await written(runId)).toEqual(claimSets(overlap));
    expect(await store.getRun(runId)).toEqual(first!.run);

    const failure = { runId, attempt: 1, guard: { workerId: 'w1' }, status: 'failed' as const, finishedAt: at(2000) };
    const [retry] = await store.completeRuns([{ ...failure, error: 'boom: "quoted", \\ {braced}\nnext', retryAt: at(5000) }]);
    expect(retry!.applied).toBe(true);
    expect(await written(runId)).toEqual([
      'status',
      'attempt',
      'available_at',
      'lease_until',
      'worker_id',
      'started_at',
      'error',
      'published_at',
      'attempts',
    ]);
    const pending = await store.getRun(runId);
    expect(pending).toEqual(retry!.run);
    expect(pending!.attempts).toHaveLength(1);

    await store.markPublished([{ runId, attempt: 2 }], at(5000));
    await written(runId);
    const [second] = await store.claimRuns([{ runId, attempt: 2 }], ctx(6000));
    expect(second!.outcome).toBe('claimed');
    expect(await written(runId)).toEqual(claimSets(overlap));
    const running = await store.getRun(runId);
    expect(running).toEqual(second!.run);
    // What the claim did not set is as the completion before it left it.
    expect(running).toMatchObject({ attempts: pending!.attempts, error: pending!.error, publishedAt: at(5000), attempt: 2 });

    const [done] = await store.completeRuns([
      { runId, attempt: 2, guard: { workerId: 'w1' }, status: 'succeeded', error: null, finishedAt: at(7000) },
    ]);
    expect(done!.applied).toBe(true);
    expect(await written(runId)).toEqual(['status', 'lease_until', 'finished_at', 'error', 'attempts']);
    const finished = await store.getRun(runId);
    expect(finished).toEqual(done!.run);
    expect(finished!.attempts.map((a) => a.status)).toEqual(['failed', 'succeeded']);
    await store.close();
  });

  it('one batch of a claimed run and a stale-epoch run: each row with its own values (one statement with the union of their columns under lock)', async () => {
    const store = new PgStore({ pool: db.pool, schema: db.schema });
    const scope = uniqueToken('mixed');
    await store.upsertJob(scope, 'j', config({ overlap }), { now: at(0), nextDueAt: null });
    const stale = randomUUID();
    await store.insertRuns(scope, [pendingRun(stale, 'j', at(0))], at(0));
    const job = await store.updateJob(scope, 'j', {}, { now: at(10), bumpEpoch: true });
    const fresh = randomUUID();
    await store.insertRuns(scope, [pendingRun(fresh, 'j', at(1000), { epoch: job.epoch })], at(10));
    // The fresh run failed once: its error stays through the claim, in a column the batch sets.
    await store.claimRuns([{ runId: fresh, attempt: 1 }], ctx(1000));
    const failure = { runId: fresh, attempt: 1, guard: { workerId: 'w1' }, status: 'failed' as const, error: 'boom' };
    await store.completeRuns([{ ...failure, finishedAt: at(1500), retryAt: at(1500) }]);
    await written(stale);
    await written(fresh);

    const results = await store.claimRuns(
      [
        { runId: stale, attempt: 1 },
        { runId: fresh, attempt: 2 },
      ],
      ctx(2000),
    );
    expect(results.map((r) => r.outcome)).toEqual(['stale_epoch', 'claimed']);
    if (overlap === 'allowAll') {
      // The fresh run is claimed straight (its fixed columns); the stale one is decided under lock (its own).
      expect(await written(fresh)).toEqual(claimSets(overlap));
      expect(await written(stale)).toEqual(['status', 'finished_at', 'error']);
    } else {
      const union = ['status', 'lease_until', 'worker_id', 'started_at', 'finished_at', 'error'];
      expect(await written(stale)).toEqual(union);
      expect(await written(fresh)).toEqual(union);
    }
    const cancelled = await store.getRun(stale);
    const claimed = await store.getRun(fresh);
    expect(cancelled).toEqual(results[0]!.run);
    expect(claimed).toEqual(results[1]!.run);
    expect(cancelled).toMatchObject({ status: 'cancelled', finishedAt: at(2000), leaseUntil: null, workerId: null, startedAt: null });
    expect(cancelled!.error).toMatch(/^stale epoch/);
    expect(claimed).toMatchObject({ status: 'running', finishedAt: null, error: 'boom', workerId: 'w1', startedAt: at(2000), attempt: 2 });
    expect(claimed!.attempts).toHaveLength(1);
    expect(claimed!.leaseUntil).toEqual(at(32_000));
    await store.close();
  });
});
