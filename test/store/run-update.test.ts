/**
 * Which columns PgStore's run update writes for a batch of decide.ts plans
 * (src/store/pg/run-update.ts), and the array literals it sends for them. The records come
 * from a MemoryStore: the same shapes PgStore reads.
 */
import { describe, expect, it } from 'vitest';
import { jobKey, planClaims, planCompletions } from '../../src/store/decide.js';
import { MemoryStore } from '../../src/store/memory-store.js';
import { RUN_UPDATE_COLUMNS } from '../../src/store/pg/queries.js';
import { ALL_COLUMNS, changedColumns, runUpdateValues } from '../../src/store/pg/run-update.js';
import type { JobRecord, RunRecord } from '../../src/store/port.js';
import { T0, at, ctx, jobConfig, newRun, runId } from '../contract/store-fixtures.js';

/** The mask's columns by name. */
const names = (mask: number) => RUN_UPDATE_COLUMNS.filter((_, i) => (mask & (1 << i)) !== 0).map(([name]) => name);

async function seed(count: number): Promise<{ job: JobRecord; runs: Map<string, RunRecord>; jobs: Map<string, JobRecord> }> {
  const store = new MemoryStore();
  const job = await store.syncJob('s', 'a', jobConfig({ overlap: 'allowAll' }), { now: T0, nextDueAt: null });
  const inserted = await store.insertRuns(
    's',
    Array.from({ length: count }, (_, i) => newRun(job, runId('s', `r${i}`), { scheduledFor: at(i) })),
    T0,
  );
  return { job, runs: new Map(inserted.map((r) => [r.runId, r])), jobs: new Map([[jobKey('s', 'a'), job]]) };
}

describe('changedColumns', () => {
  it('a claim writes the status and the lease, never the attempt history', async () => {
    const { runs, jobs } = await seed(2);
    const plan = planClaims(
      [...runs.values()].map((r) => ({ runId: r.runId, attempt: 1 })),
      runs,
      jobs,
      ctx(at(10)),
    );
    expect(plan.updates.size).toBe(2);
    expect(names(changedColumns(plan.updates.values(), runs))).toEqual(['status', 'lease_until', 'worker_id', 'started_at']);
  });

  it('a claim clears a cancel request left from the attempt before it', async () => {
    const { runs, jobs } = await seed(1);
    const [run] = runs.values();
    const asked = new Map([[run!.runId, { ...run!, cancelRequestedAt: at(5) }]]);
    const plan = planClaims([{ runId: run!.runId, attempt: 1 }], asked, jobs, ctx(at(10)));
    expect(names(changedColumns(plan.updates.values(), asked))).toContain('cancel_requested_at');
  });

  it('a completion appends to the attempt history; a retry resets the attempt', async () => {
    const { runs, jobs } = await seed(1);
    const [run] = runs.values();
    const claimed = planClaims([{ runId: run!.runId, attempt: 1 }], runs, jobs, ctx(at(10), 'w')).updates;
    const done = planCompletions(
      [{ runId: run!.runId, attempt: 1, guard: { workerId: 'w' }, status: 'succeeded', error: null, finishedAt: at(11) }],
      claimed,
      jobs,
    );
    expect(names(changedColumns(done.updates.values(), claimed))).toEqual(['status', 'lease_until', 'finished_at', 'attempts']);
    const retried = planCompletions(
      [{ runId: run!.runId, attempt: 1, guard: { workerId: 'w' }, status: 'failed', error: 'boom', finishedAt: at(11), retryAt: at(20) }],
      claimed,
      jobs,
    );
    expect(names(changedColumns(retried.updates.values(), claimed))).toEqual([
      'status',
      'attempt',
      'available_at',
      'lease_until',
      'worker_id',
      'started_at',
      'error',
      'attempts',
    ]);
  });

  it('is the union over the batch', async () => {
    const { runs } = await seed(2);
    const [a, b] = runs.values();
    const updates = [
      { ...a!, status: 'cancelled' as const, error: 'x' },
      { ...b!, finishedAt: at(3) },
    ];
    expect(names(changedColumns(updates, runs))).toEqual(['status', 'finished_at', 'error']);
  });

  it('compares instants by time, not by object', async () => {
    const { runs } = await seed(1);
    const [run] = runs.values();
    const copy = { ...run!, availableAt: new Date(run!.availableAt.getTime()), leaseUntil: at(1) };
    expect(names(changedColumns([copy], runs))).toEqual(['lease_until']);
  });

  it('a batch that changes nothing, or a row it has no read of, is written whole', async () => {
    const { runs } = await seed(1);
    const [run] = runs.values();
    expect(changedColumns([run!], runs)).toBe(ALL_COLUMNS);
    expect(changedColumns([{ ...run!, status: 'running' }], new Map())).toBe(ALL_COLUMNS);
    expect(names(ALL_COLUMNS)).toEqual(RUN_UPDATE_COLUMNS.map(([name]) => name));
  });
});

describe('runUpdateValues', () => {
  it('sends the run ids and then one literal per column of the mask, in column order', async () => {
    const { runs } = await seed(2);
    const [a, b] = runs.values();
    const rows = [
      { ...a!, status: 'failed' as const, error: 'say "no"', leaseUntil: null, attempt: 2 },
      { ...b!, status: 'running' as const, error: null, leaseUntil: at(30), attempt: 1 },
    ];
    const mask = changedColumns(rows, runs);
    expect(names(mask)).toEqual(['status', 'attempt', 'lease_until', 'error']);
    expect(runUpdateValues(rows, mask)).toEqual([
      `{${a!.runId},${b!.runId}}`,
      '{"failed","running"}',
      '{2,1}',
      `{NULL,${at(30).getTime()}}`,
      String.raw`{"say \"no\"",NULL}`,
    ]);
  });

  it('sends the attempt history as JSON text, instants in ISO form', async () => {
    const { runs } = await seed(1);
    const [run] = runs.values();
    const attempt = {
      attempt: 1,
      workerId: 'w',
      startedAt: at(1),
      finishedAt: at(2),
      status: 'failed' as const,
      error: null,
      retryAt: null,
    };
    const mask = 1 << RUN_UPDATE_COLUMNS.findIndex(([name]) => name === 'attempts');
    const [, history] = runUpdateValues([{ ...run!, attempts: [attempt] }], mask);
    const json = JSON.stringify([{ ...attempt, startedAt: at(1).toISOString(), finishedAt: at(2).toISOString() }]);
    expect(history).toBe(`{"${json.replace(/[\\"]/g, '\\$&')}"}`);
  });
});
