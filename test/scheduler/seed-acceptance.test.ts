/**
 * The seed's operators' path, end to end: each §10 body POSTed to the admin API of the
 * scheduler of its scope, and workers that know no job, only the seed's queues
 * (`RabbitMQWorker(queue=…)`), run each job at the times its cron says: on the fake clock
 * (Sunday to Monday afternoon in Seoul) and once on the real PostgreSQL and RabbitMQ.
 */
import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { slotsBetween } from '../../src/define/schedule.js';
import type { JobContext } from '../../src/define/types.js';
import { createAdminHandler } from '../../src/http/index.js';
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import { createTestHarness, type TestHarness } from '../../src/testing/harness.js';
import { createWorker, type Worker } from '../../src/worker/index.js';
import { AMQP_URL, uniqueToken } from '../helpers/env.js';
import { MOCK_BODIES, REAL_BODIES, type SeedBody } from '../helpers/seed-bodies.js';
import { waitFor } from '../helpers/wait.js';
import { schedulerFixture, type SchedulerFixture } from './setup.js';

const SEOUL = 'Asia/Seoul';
/** Sunday 2025-01-05 00:00 in Seoul. */
const SUNDAY = '2025-01-04T15:00:00.000Z';
/** Monday 16:00 in Seoul: a weekend day and a weekday. */
const MONDAY_AFTERNOON = '2025-01-06T07:00:00.000Z';
const QUEUES = ['buy-scanner', 'news-crawler', 'price-monitor', 'scout'];
const TOKEN = 'seed-acceptance-token';
const iso = (d: Date | null | undefined) => d?.toISOString();
const queueOf = (body: SeedBody) => body.queue.replace(/^[a-z]+\.jobs\./, '');

interface Seen {
  scope: string;
  jobId: string;
  runId: string;
  scheduledFor: string;
  params: unknown;
}

describe('§10 bodies, queue handlers only, on the fake clock', () => {
  const open: TestHarness[] = [];
  afterEach(async () => {
    await Promise.all(open.splice(0).map((h) => h.close()));
  });

  it('every job runs at each of its cron slots in Seoul time, with its default params', async () => {
    const seen: Seen[] = [];
    const handler = (ctx: JobContext<unknown>) =>
      void seen.push({ scope: ctx.scope, jobId: ctx.jobId, runId: ctx.runId, scheduledFor: iso(ctx.scheduledFor)!, params: ctx.params });
    const harnesses = { real: REAL_BODIES, mock: MOCK_BODIES } as const;
    const started = new Map<string, TestHarness>();
    for (const scope of ['real', 'mock'] as const) {
      const h = createTestHarness({
        scope,
        start: SUNDAY,
        queues: Object.fromEntries(QUEUES.map((q) => [q, handler])),
        schedulerOptions: { timezone: SEOUL },
      });
      open.push(h);
      await h.start();
      for (const body of harnesses[scope]) await h.upsert(body);
      started.set(scope, h);
    }
    for (const h of started.values()) await h.advanceTo(MONDAY_AFTERNOON);
    for (const [scope, bodies] of Object.entries(harnesses)) {
      const h = started.get(scope)!;
      for (const body of bodies) {
        const slots = slotsBetween(
          { kind: 'cron', cron: body.cron_expr, tz: SEOUL },
          new Date(SUNDAY),
          new Date(MONDAY_AFTERNOON),
          10_000,
        ).map(iso);
        const runs = (await h.history(body.job_id)).filter((r) => r.status !== 'pending');
        expect({ job: body.job_id, ran: runs.map((r) => [iso(r.scheduledFor), iso(r.startedAt), r.status]) }).toEqual({
          job: body.job_id,
          ran: slots.map((at) => [at, at, 'succeeded']),
        });
        const byHandler = seen.filter((s) => s.scope === scope && s.jobId === body.job_id);
        expect(byHandler.map((s) => s.scheduledFor)).toEqual(slots);
        expect(
          byHandler.every((s) => JSON.stringify(s.params) === JSON.stringify('default_params' in body ? body.default_params : {})),
        ).toBe(true);
      }
    }
    // The seed's comments, in Seoul time: weekday 08:00, 09:00 and 15:30 happen on Monday only.
    const real = started.get('real')!;
    expect((await real.runs('scout-daily')).filter((r) => r.status === 'succeeded').map((r) => iso(r.startedAt))).toEqual([
      '2025-01-05T23:00:00.000Z',
    ]);
    expect((await real.runs('price-monitor-stop')).filter((r) => r.status === 'succeeded').map((r) => iso(r.startedAt))).toEqual([
      '2025-01-06T06:30:00.000Z',
    ]);
  });
});

describe('§10 bodies, queue handlers only, on the real PostgreSQL and RabbitMQ', () => {
  let fx: SchedulerFixture;
  let mockScope: string;
  const schedulers: Scheduler[] = [];
  const workers: Worker[] = [];
  const servers: http.Server[] = [];
  const urls = new Map<string, string>();
  const seen: Seen[] = [];

  async function call(
    scope: string,
    method: string,
    path: string,
    body: unknown,
  ): Promise<{ status: number; json: Record<string, unknown> }> {
    const response = await fetch(`${urls.get(scope)}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    return { status: response.status, json: (await response.json()) as Record<string, unknown> };
  }

  beforeAll(async () => {
    fx = await schedulerFixture('seedaccept');
    mockScope = uniqueToken('seedaccept_mock');
    fx.alsoScope(mockScope);
    const handler = (ctx: JobContext<unknown>) =>
      void seen.push({ scope: ctx.scope, jobId: ctx.jobId, runId: ctx.runId, scheduledFor: iso(ctx.scheduledFor)!, params: ctx.params });
    for (const scope of [fx.scope, mockScope]) {
      const { pool } = await fx.pool(`${scope}-sched`);
      const scheduler = createScheduler({
        pool,
        schema: fx.schema,
        scope,
        amqpUrl: AMQP_URL,
        timezone: SEOUL,
        leaseTtl: '5s',
        safetyTick: '500ms',
        outboxGrace: '1s',
      });
      scheduler.on('error', () => {});
      schedulers.push(scheduler);
      const w = await fx.pool(`${scope}-worker`);
      workers.push(
        createWorker({
          pool: w.pool,
          schema: fx.schema,
          amqpUrl: AMQP_URL,
          scope,
          timezone: SEOUL,
          queues: QUEUES.map((queue) => ({ queue, handler })),
        }),
      );
      const server = http.createServer(createAdminHandler({ control: scheduler, token: TOKEN }));
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push(server);
      urls.set(scope, `http://127.0.0.1:${(server.address() as { port: number }).port}`);
    }
    for (const s of schedulers) await s.start();
    for (const w of workers) await w.start();
  });

  afterAll(async () => {
    for (const server of servers) await new Promise((resolve) => server.close(resolve));
    for (const w of workers) await w.close();
    for (const s of schedulers) await s.close();
    await fx?.teardown();
  });

  it('each body POSTed to its scope is stored in Seoul time, is refused by the other scope, and runs once when shortened to a seconds cron', async () => {
    const cases = [
      ...REAL_BODIES.map((body) => ({ scope: fx.scope, other: mockScope, body })),
      ...MOCK_BODIES.map((body) => ({ scope: mockScope, other: fx.scope, body })),
    ];
    for (const { scope, other, body } of cases) {
      // The prefixes become this file's scopes: queues on the shared broker are per test file.
      const posted = { ...body, queue: `${scope}.jobs.${queueOf(body)}` };
      expect((await call(other, 'POST', '/jobs', posted)).status).toBe(400);
      const created = await call(scope, 'POST', '/jobs', posted);
      expect(created.status).toBeLessThan(300);
      expect(created.json.schedule).toEqual({ kind: 'cron', cron: body.cron_expr, tz: SEOUL });
      // Its first slot is minutes to days away: move the chain to the next even second.
      expect((await call(scope, 'PATCH', `/jobs/${body.job_id}`, { cron_expr: '*/2 * * * * *' })).status).toBe(200);
    }
    await waitFor(
      () => cases.every(({ scope, body }) => seen.some((s) => s.scope === scope && s.jobId === body.job_id)),
      'one run of each body',
    );
    for (const { scope, body } of cases) {
      const [first] = seen.filter((s) => s.scope === scope && s.jobId === body.job_id);
      expect(new Date(first!.scheduledFor).getTime() % 2000).toBe(0);
      expect(first!.params).toEqual('default_params' in body ? body.default_params : {});
      const run = (await fx.runsOf(body.job_id, scope)).find((r) => r.runId === first!.runId);
      expect(run?.triggerSource).toBe('scheduler');
    }
    for (const { scope, body } of cases) await call(scope, 'POST', `/jobs/${body.job_id}/pause`, {});
  });
});
