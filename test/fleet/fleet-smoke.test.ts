/**
 * `npm run fleet -- --scope real --scope mock --register --every 2s` end to end: the
 * launcher starts every service as its own process on the real PostgreSQL and RabbitMQ,
 * register-jobs writes the seed's §10 jobs through the admin API with short periods, and
 * the runs table shows each of the four workers running its scope's jobs, real and mock
 * apart. A pause sent to the mock bot (on a fake Telegram Bot API on loopback) stops that
 * job while its real twin runs on. SIGTERM stops every process with exit code 0.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, onTestFailed, test } from 'vitest';
import { cleanupScope } from '../helpers/amqp.js';
import { uniqueToken } from '../helpers/env.js';
import { startFakeBotApi, type FakeBotApi, type FakeChat } from '../helpers/fake-bot-api.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { waitFor } from '../helpers/wait.js';
import { assertBuilt, fleetEnv, freePortRange, killGroup, startProcess, type Proc } from './helpers.js';

const prefix = `${uniqueToken('fleet')}_`;
const scopes = { real: `${prefix}real`, mock: `${prefix}mock` };
const QUEUES = ['buy-scanner', 'price-monitor', 'news-crawler', 'scout'];
const SERVICES = ['scheduler-service', ...QUEUES];
const OPS: FakeChat = { id: 4242, type: 'private' };

let db: TestDatabase;
let api: FakeBotApi;
let fleet: Proc | undefined;

interface RunRow {
  scope: string;
  job_id: string;
  queue: string;
  trigger_source: string;
  status: string;
  worker_id: string | null;
  started_at: Date | null;
}

async function runs(pool: pg.Pool, schema: string): Promise<RunRow[]> {
  const { rows } = await pool.query<RunRow>(
    `SELECT r.scope, r.job_id, j.queue, r.trigger_source, r.status, r.worker_id, r.started_at
       FROM "${schema}".runs r JOIN "${schema}".jobs j ON j.scope = r.scope AND j.job_id = r.job_id
      WHERE r.scope = ANY($1)`,
    [Object.values(scopes)],
  );
  return rows;
}

beforeAll(async () => {
  await assertBuilt();
  db = await createTestDatabase('fleet_smoke', 4);
  api = await startFakeBotApi();
});

afterAll(async () => {
  killGroup(fleet);
  await api?.close();
  for (const scope of Object.values(scopes)) await cleanupScope(scope);
  await db?.drop();
});

describe('npm run fleet', () => {
  test('every service as its own process: four workers run, scopes stay apart, the bot pauses a job, SIGTERM exits 0', async () => {
    const [real, mock] = [await freePortRange(5), await freePortRange(5)];
    const env = fleetEnv({
      schema: db.schema,
      prefix,
      ports: { real, mock },
      // One bot, for the mock scope (a bot token is polled by one process at a time).
      extra: {
        TELEGRAM_BOT_TOKEN_MOCK: api.token,
        TELEGRAM_API_ROOT: api.apiRoot,
        TELEGRAM_CHAT_IDS: String(OPS.id),
        PRICE_TICK_MS: '500',
      },
    });
    fleet = startProcess('run.ts', ['--scope', 'real', '--scope', 'mock', '--register', '--every', '2s'], env, { detached: true });
    onTestFailed(() => console.log(`--- fleet output (last 120 lines) ---\n${fleet?.lines.slice(-120).join('\n')}`));

    // Each worker service names its worker id: every run row must come from a worker of its own scope and queue.
    const workerOf = new Map<string, { scope: string; service: string }>();
    for (const [profile, scope] of Object.entries(scopes)) {
      for (const service of QUEUES) {
        const line = await fleet.waitForLog(
          (e) => e.msg === 'consuming' && e.scope === scope && e.service === service,
          `${profile}/${service} consuming`,
        );
        workerOf.set(String(line.worker_id), { scope, service });
      }
      await fleet.waitForLog((e) => e.msg.startsWith(`5 jobs registered in scope ${scope} `), `${profile} jobs registered`);
    }
    await fleet.waitForLog((e) => e.service === 'telegram-bot' && e.msg === 'polling Telegram', 'the mock bot polling');

    // The seed's bodies were written as they are (their crons, in Seoul time: the service's
    // default zone), then shortened to a period through the admin API.
    const { rows: writes } = await db.pool.query<{ action: string; actor: string; details: { config?: { schedule?: unknown } } }>(
      `SELECT action, actor, details FROM "${db.schema}".audit WHERE scope = $1 AND job_id = 'scout-daily' ORDER BY id`,
      [scopes.real],
    );
    expect(writes.map((w) => [w.action, w.actor])).toEqual([
      ['create', 'register-jobs'],
      ['update', 'register-jobs'],
    ]);
    expect(writes[0]!.details.config?.schedule).toEqual({ kind: 'cron', cron: '0 8 * * 1-5', tz: 'Asia/Seoul' });

    // Each of the four workers ran its scope's seed jobs (not just its startup one-shot).
    const seedJob = (row: RunRow) => !row.job_id.endsWith('-startup');
    await waitFor(
      async () => {
        const rows = (await runs(db.pool, db.schema)).filter((r) => r.status === 'succeeded' && seedJob(r));
        return Object.values(scopes).every((scope) => QUEUES.every((queue) => rows.some((r) => r.scope === scope && r.queue === queue)));
      },
      'a succeeded seed-job run on every queue of both scopes',
      { timeoutMs: 90_000, intervalMs: 250 },
    );

    // Real and mock apart: real runs only real's jobs, mock only mock's, each on a worker of its own scope and queue.
    const all = await runs(db.pool, db.schema);
    const realJobs = new Set(all.filter((r) => r.scope === scopes.real && seedJob(r)).map((r) => r.job_id));
    const mockJobs = new Set(all.filter((r) => r.scope === scopes.mock && seedJob(r)).map((r) => r.job_id));
    expect([...realJobs].every((id) => !id.startsWith('mock-'))).toBe(true);
    expect([...mockJobs].every((id) => id.startsWith('mock-'))).toBe(true);
    for (const row of all.filter((r) => r.worker_id !== null)) {
      expect(workerOf.get(row.worker_id!), `${row.scope}/${row.job_id} ran on ${row.worker_id}`).toEqual({
        scope: row.scope,
        service: row.queue,
      });
    }

    // Pause from the bot: the mock buy-scanner stops, the real one runs on.
    const before = api.sent.length;
    api.message(OPS, '/job pause mock-buy-scanner smoke test');
    const reply = await waitFor(() => api.sent.slice(before).find((m) => m.chatId === OPS.id), 'the bot to answer the pause');
    expect(reply.text).toMatch(/paused/i);
    const { rows: paused } = await db.pool.query<{ enabled: boolean; now: Date }>(
      `SELECT enabled, now() AS now FROM "${db.schema}".jobs WHERE scope = $1 AND job_id = 'mock-buy-scanner'`,
      [scopes.mock],
    );
    expect(paused[0]!.enabled).toBe(false);
    const pausedAt = paused[0]!.now;
    const startedAfter = (rows: RunRow[], scope: string, jobId: string) =>
      rows.filter((r) => r.scope === scope && r.job_id === jobId && r.started_at !== null && r.started_at > pausedAt);
    // Two more buy-scanner runs in real: two periods passed, ample for a mock link to arrive (and be dropped).
    await waitFor(
      async () => startedAfter(await runs(db.pool, db.schema), scopes.real, 'buy-scanner').length >= 2,
      'the real buy-scanner to run on',
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(startedAfter(await runs(db.pool, db.schema), scopes.mock, 'mock-buy-scanner')).toEqual([]);

    // SIGTERM to the launcher: every service stops gracefully and exits 0.
    fleet.child.kill('SIGTERM');
    expect(await fleet.exited).toBe(0);
    for (const scope of Object.values(scopes)) {
      for (const service of SERVICES)
        expect(
          fleet.entries.some((e) => e.msg === 'stopped' && e.scope === scope && e.service === service),
          `${scope}/${service} stopped`,
        ).toBe(true);
    }
    expect(fleet.entries.some((e) => e.msg === 'stopped' && e.service === 'telegram-bot')).toBe(true);
    expect(fleet.entries.at(-1)).toMatchObject({ service: 'fleet', msg: 'all 11 services exited 0' });
  }, 240_000);
});
