/**
 * The one control-surface contract: the same calls give the same results (Dates where the
 * in-process records have Dates) and the same errors (code, field, message) through every
 * implementation of `Control`: the in-process scheduler (test/scheduler/control-contract.test.ts),
 * the admin client over HTTP (test/adapters/client-contract.test.ts) and the test harness
 * (test/testing/control-contract.test.ts). No worker runs, so every run stays as created.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { nextRun } from '../../src/define/schedule.js';
import type { Control, JobDetails, JobStatus } from '../../src/scheduler/control-types.js';
import type { AuditEntry, RunRecord } from '../../src/store/port.js';
import { rejectionOf } from '../helpers/errors.js';

export interface ControlFixture {
  control: Control;
  scope: string;
  /** The clock the implementation reads: the wall clock, or the harness's fake one. */
  now(): Date;
  close(): Promise<void>;
}

const ACTOR = 'contract-bot';

/** The seed's POST /jobs body (§10): yearly, so no slot comes due while the suite runs. */
function seedBody(scope: string, id: string): Record<string, unknown> {
  return {
    job_id: id,
    queue: `${scope}.jobs.reports`,
    cron_expr: '0 0 1 1 *',
    reschedule_mode: 'scheduler',
    description: 'yearly report',
    default_params: { format: 'pdf' },
    enabled: true,
  };
}

/** The code, field and message of what `call` rejected with (a WarrenError, or the test fails). */
async function failure(call: () => Promise<unknown>): Promise<{ code: string; field: string | undefined; message: string }> {
  const { code, field, message } = await rejectionOf(call);
  return { code, field, message };
}

function expectStatusDates(status: JobStatus): void {
  expect(status.nextDueAt === null || status.nextDueAt instanceof Date).toBe(true);
  expect(status.lastRunAt === null || status.lastRunAt instanceof Date).toBe(true);
}

function expectDetailsDates(details: JobDetails): void {
  expectStatusDates(details);
  for (const key of ['createdAt', 'updatedAt'] as const) expect(details.job[key]).toBeInstanceOf(Date);
  expect(details.job.nextDueAt === null || details.job.nextDueAt instanceof Date).toBe(true);
}

function expectRunDates(run: RunRecord): void {
  for (const key of ['scheduledFor', 'availableAt', 'createdAt'] as const) expect(run[key]).toBeInstanceOf(Date);
  for (const key of ['staleAt', 'leaseUntil', 'startedAt', 'finishedAt', 'publishedAt', 'cancelRequestedAt'] as const)
    expect(run[key] === null || run[key] instanceof Date).toBe(true);
}

/** `publishedAt` moves when the trigger is (re)published, which races a re-read; the rest must not. */
function settled(run: RunRecord): Omit<RunRecord, 'publishedAt'> {
  const { publishedAt: _published, ...rest } = run;
  return rest;
}

export function controlContract(name: string, make: () => Promise<ControlFixture>): void {
  describe(`control contract: ${name}`, () => {
    let fx: ControlFixture;
    let c: Control;
    let n = 0;
    const fresh = (label: string): string => `${label}-${++n}`;

    beforeAll(async () => {
      fx = await make();
      c = fx.control;
    });
    afterAll(async () => {
      await fx?.close();
    });

    it('upsert (the seed body) answers the job with Dates; get and list answer the same', async () => {
      const id = fresh('report');
      const created = await c.upsert(seedBody(fx.scope, id), { actor: ACTOR });
      expect(created).toMatchObject({
        id,
        queue: 'reports',
        schedule: { kind: 'cron', cron: '0 0 1 1 *' },
        reschedule: 'scheduler',
        enabled: true,
        paused: false,
        pauseNote: null,
        lastRunAt: null,
        lastStatus: null,
        running: 0,
        recentFailures: 0,
        description: 'yearly report',
        job: { scope: fx.scope, jobId: id, params: { format: 'pdf' }, epoch: expect.any(Number) },
      });
      expectDetailsDates(created);
      expect(created.nextDueAt!.getTime()).toBeGreaterThan(fx.now().getTime());
      expect(await c.get(id)).toEqual(created);
      const { job: _job, ...line } = created;
      expect((await c.list()).find((s) => s.id === id)).toEqual(line);
    });

    it('update patches settings, marks them overridden, and get agrees', async () => {
      const id = fresh('report');
      await c.upsert(seedBody(fx.scope, id));
      const updated = await c.update(id, { description: 'changed', maxParallel: 2 }, { actor: ACTOR });
      expect(updated).toMatchObject({ id, description: 'changed', job: { maxParallel: 2 } });
      expect(updated.overridden).toEqual(expect.arrayContaining(['description', 'maxParallel']));
      expectDetailsDates(updated);
      expect(await c.get(id)).toEqual(updated);
    });

    // The decisions of control-plan.ts, the same through every door.
    it('update re-times only a new timing: a new schedule starts at its next slot; the epoch moves in queue mode', async () => {
      const id = fresh('report');
      const created = await c.upsert(seedBody(fx.scope, id));
      const described = await c.update(id, { description: 'same timing' });
      expect(described.job).toMatchObject({ epoch: created.job.epoch, nextDueAt: created.job.nextDueAt });
      const monthly = await c.update(id, { schedule: { cron: '0 0 1 * *' } });
      expect(monthly.job.epoch).toBe(created.job.epoch);
      expect(monthly.nextDueAt).toEqual(nextRun(monthly.job.schedule!, fx.now()));

      const chainId = fresh('chain');
      const chain = await c.upsert({ ...seedBody(fx.scope, chainId), reschedule_mode: 'queue' });
      // The 2nd of each month: never the yearly slot, which the old link holds (the slot key).
      const rescheduled = await c.update(chainId, { schedule: { cron: '0 0 2 * *' } });
      expect(rescheduled.job.epoch).toBe(chain.job.epoch + 1);
      expect(rescheduled.nextDueAt).toEqual(nextRun(rescheduled.job.schedule!, fx.now()));
      // The old chain's link stays behind (cancelled at its claim); the new one is seeded
      // at the new schedule's next slot, under the new epoch.
      const links = (await c.runs(chainId)).sort((a, b) => a.epoch - b.epoch);
      expect(links.map((r) => [r.epoch, r.scheduledFor])).toEqual([
        [chain.job.epoch, chain.nextDueAt],
        [chain.job.epoch + 1, rescheduled.nextDueAt],
      ]);
    });

    it('pause with a note, then resume', async () => {
      const id = fresh('report');
      await c.upsert(seedBody(fx.scope, id));
      const paused = await c.pause(id, { note: 'holiday <b>until</b> Monday', actor: ACTOR });
      expect(paused).toMatchObject({ id, paused: true, enabled: false, pauseNote: 'holiday <b>until</b> Monday' });
      expect(await c.get(id)).toEqual(paused);
      const resumed = await c.resume(id, { actor: ACTOR });
      expect(resumed).toMatchObject({ id, paused: false, enabled: true, pauseNote: null });
      expectDetailsDates(resumed);
      expect(resumed.job.epoch).toBeGreaterThan(paused.job.epoch);
    });

    it('runNow with params and a delay; runs filters by status and limits', async () => {
      const id = fresh('report');
      await c.upsert(seedBody(fx.scope, id));
      const run = await c.runNow(id, { params: { format: 'csv', pages: 3 }, delay: '1h', actor: ACTOR });
      expect(run).toMatchObject({
        jobId: id,
        scope: fx.scope,
        triggerSource: 'manual',
        status: 'pending',
        attempt: 1,
        params: { format: 'csv', pages: 3 },
        attempts: [],
      });
      expectRunDates(run);
      expect(run.availableAt.getTime() - run.createdAt.getTime()).toBe(3_600_000);
      // Placed at the request instant, not on a slot; a period-relative staleAfter does not apply.
      expect(run).toMatchObject({ scheduledFor: run.createdAt, staleAt: null });
      const second = await c.runNow(id);
      expect(second.params).toEqual({ format: 'pdf' });

      const all = await c.runs(id);
      expect(all.map((r) => r.runId)).toEqual([second.runId, run.runId]);
      all.forEach(expectRunDates);
      expect(settled(all[1]!)).toEqual(settled(run));
      expect((await c.runs(id, { limit: 1 })).map((r) => r.runId)).toEqual([second.runId]);
      expect(await c.runs(id, { status: 'succeeded' })).toEqual([]);
      expect((await c.runs(id, { status: ['pending', 'running'] })).map((r) => r.runId)).toEqual([second.runId, run.runId]);
    });

    it('backfill creates the slots of [from, to] once; a second call creates nothing', async () => {
      const id = fresh('hourly');
      // Disabled: no slot of its own comes due while the suite runs.
      await c.upsert({ id, queue: 'hourly', schedule: { every: '1h' }, enabled: false });
      const now = fx.now().getTime();
      const range = { from: new Date(now - 3 * 3_600_000), to: new Date(now - 3_600_000).toISOString() };
      const first = await c.backfill(id, { ...range, actor: ACTOR });
      expect(first.slots).toBeGreaterThanOrEqual(2);
      expect(first.inserted).toHaveLength(first.slots);
      for (const run of first.inserted) {
        expectRunDates(run);
        expect(run).toMatchObject({ jobId: id, triggerSource: 'backfill', status: 'pending' });
      }
      expect(await c.backfill(id, range)).toEqual({ slots: first.slots, inserted: [] });
    });

    it('audit lists the actions newest first, with the actor, by job and limited', async () => {
      const id = fresh('report');
      await c.upsert(seedBody(fx.scope, id), { actor: ACTOR });
      await c.pause(id, { note: 'why', actor: ACTOR });
      await c.resume(id, { actor: ACTOR });
      const entries = await c.audit({ jobId: id });
      expect(entries.map((e) => e.action)).toEqual(['resume', 'pause', 'create']);
      for (const entry of entries)
        expect(entry).toMatchObject({ scope: fx.scope, jobId: id, actor: ACTOR, at: expect.any(Date) } satisfies Partial<
          Record<keyof AuditEntry, unknown>
        >);
      expect(entries[1]!.details).toEqual({ note: 'why' });
      expect((await c.audit({ jobId: id, limit: 1 })).map((e) => e.action)).toEqual(['resume']);
      expect((await c.audit({ limit: 2 })).length).toBe(2);
    });

    it('remove deletes the job; it is then not found', async () => {
      const id = fresh('report');
      await c.upsert(seedBody(fx.scope, id));
      await expect(c.remove(id, { actor: ACTOR })).resolves.toBeUndefined();
      expect((await c.list()).some((s) => s.id === id)).toBe(false);
      expect(await failure(() => c.get(id))).toMatchObject({ code: 'ERR_JOB_NOT_FOUND', field: 'id' });
      expect((await c.audit({ jobId: id })).map((e) => e.action)).toEqual(['remove', 'create']);
    });

    describe('errors', () => {
      const missing = 'no-such-job';
      const calls: Array<[string, (c: Control) => Promise<unknown>]> = [
        ['get', (c) => c.get(missing)],
        ['update', (c) => c.update(missing, { description: 'x' })],
        ['remove', (c) => c.remove(missing)],
        ['pause', (c) => c.pause(missing)],
        ['resume', (c) => c.resume(missing)],
        ['runNow', (c) => c.runNow(missing)],
        ['runs', (c) => c.runs(missing)],
        ['backfill', (c) => c.backfill(missing, { from: '2025-01-01T00:00:00Z', to: '2025-01-01T01:00:00Z' })],
      ];
      for (const [method, call] of calls) {
        it(`${method} of a missing job → ERR_JOB_NOT_FOUND naming \`id\``, async () => {
          expect(await failure(() => call(c))).toEqual({
            code: 'ERR_JOB_NOT_FOUND',
            field: 'id',
            message: `No job "${missing}" in scope "${fx.scope}"`,
          });
        });
      }

      const invalid: Array<[string, string, (c: Control, id: string, now: Date) => Promise<unknown>]> = [
        ['get of an empty id', 'id', (c) => c.get('')],
        ['get of an id no URL can carry', 'jobId', (c) => c.get('..')],
        ['runs with limit 0', 'limit', (c, id) => c.runs(id, { limit: 0 })],
        ['runs with an unknown status', 'status', (c, id) => c.runs(id, { status: 'bogus' as never })],
        ['audit with limit 0', 'limit', (c) => c.audit({ limit: 0 })],
        ['runNow with a delay that is no duration', 'delay', (c, id) => c.runNow(id, { delay: 'soon' })],
        ['runNow with params that are no object', 'params', (c, id) => c.runNow(id, { params: [1] as never })],
        ['backfill with `from` no timestamp', 'from', (c, id) => c.backfill(id, { from: 'yesterday', to: '2025-01-01T00:00:00Z' })],
        ['backfill with an invalid Date', 'from', (c, id) => c.backfill(id, { from: new Date(Number.NaN), to: '2025-01-01T00:00:00Z' })],
        ['backfill with `to` before `from`', 'to', (c, id) => c.backfill(id, { from: '2025-01-02T00:00:00Z', to: '2025-01-01T00:00:00Z' })],
        [
          'backfill into the future',
          'to',
          (c, id, now) => c.backfill(id, { from: now.toISOString(), to: new Date(now.getTime() + 86_400_000).toISOString() }),
        ],
        ['update with an unknown setting', 'bogus', (c, id) => c.update(id, { bogus: 1 })],
      ];
      for (const [title, field, call] of invalid) {
        it(`${title} → ERR_INVALID_ARGUMENT naming \`${field}\``, async () => {
          const id = fresh('report');
          await c.upsert(seedBody(fx.scope, id));
          const error = await failure(() => call(c, id, fx.now()));
          expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field });
          expect(error.message).toContain(`\`${field}\``);
        });
      }

      it('an invalid job body → ERR_INVALID_JOB naming the field; nothing is created', async () => {
        const id = fresh('bad');
        const error = await failure(() => c.upsert({ ...seedBody(fx.scope, id), cron_expr: 'every now and then' }));
        expect(error).toMatchObject({ code: 'ERR_INVALID_JOB', field: 'cron_expr' });
        expect(error.message).toContain('`cron_expr`');
        expect(await failure(() => c.get(id))).toMatchObject({ code: 'ERR_JOB_NOT_FOUND' });
      });

      it('a job of another scope → ERR_INVALID_ARGUMENT naming `scope`; nothing is created', async () => {
        const id = fresh('elsewhere');
        const error = await failure(() => c.upsert({ ...seedBody(fx.scope, id), queue: 'not-this-scope.jobs.reports' }));
        expect(error).toEqual({
          code: 'ERR_INVALID_ARGUMENT',
          field: 'scope',
          message: `Invalid \`scope\`: this scheduler steers scope "${fx.scope}", the job names scope "not-this-scope"`,
        });
        expect(await failure(() => c.get(id))).toMatchObject({ code: 'ERR_JOB_NOT_FOUND' });
      });
    });
  });
}
