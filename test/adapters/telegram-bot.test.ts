/**
 * warren/telegram's grammY bot end to end: real long polling against a fake Bot API server
 * on loopback, commands acting on a real control-only scheduler over PostgreSQL.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { Bot } from 'grammy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import { isWarrenError } from '../../src/errors.js';
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import { createTelegramBot, warrenCommands, type TelegramBot } from '../../src/telegram/index.js';
import { startFakeBotApi, type FakeBotApi, type FakeChat, type SentMessage } from '../helpers/fake-bot-api.js';
import { uniqueToken } from '../helpers/env.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { waitFor } from '../helpers/wait.js';

const OPS: FakeChat = { id: 5001, type: 'private' };
const GROUP: FakeChat = { id: -100777, type: 'supergroup' };
const STRANGER: FakeChat = { id: 6666, type: 'private' };
const ZONE = 'Asia/Seoul'; // +09:00 all year: the expected text needs no tz database of its own

const report = defineJob({ id: 'report', queue: 'reports', schedule: { cron: '0 9 1 1 *' }, description: 'yearly report' });
const lunch = defineJob({ id: 'lunch-orders', queue: 'orders', schedule: { every: '1h' } });

describe('createTelegramBot: long polling against a fake Bot API, on a real scheduler', () => {
  let db: TestDatabase;
  let scheduler: Scheduler;
  let api: FakeBotApi;
  let bot: TelegramBot;
  const warned: Array<{ message: string; fields?: Record<string, unknown> }> = [];
  const errors: string[] = [];
  const logger = {
    warn: (message: string, fields?: Record<string, unknown>) => warned.push({ message, fields }),
    error: (message: string) => errors.push(message),
  };

  /** Sends `text` from `chat` and resolves with the bot's answer to that message. */
  const ask = async (chat: FakeChat, text: string, from?: { id: number; username?: string }): Promise<SentMessage> => {
    const before = api.sent.length;
    api.message(chat, text, from);
    return waitFor(() => api.sent.slice(before).find((m) => m.chatId === chat.id), `an answer to "${text}"`);
  };

  beforeAll(async () => {
    db = await createTestDatabase('tgbot', 4);
    scheduler = createScheduler({
      pool: db.pool,
      schema: db.schema,
      scope: uniqueToken('tgbot').replace(/_/g, '-'),
      role: 'control-only',
      jobs: [report, lunch],
    });
    await scheduler.start();
    api = await startFakeBotApi({ username: 'WarrenTestBot' });
    bot = createTelegramBot({
      token: api.token,
      apiRoot: api.apiRoot,
      control: scheduler,
      allowedChatIds: [OPS.id, GROUP.id],
      timezone: ZONE,
      logger,
    });
    await bot.start();
  });

  afterAll(async () => {
    await bot?.close();
    await api?.close();
    await scheduler?.close().catch(() => {});
    await db?.drop();
  });

  it('starts: checks the token, drops the webhook, then long-polls', async () => {
    expect(bot.username).toBe('WarrenTestBot');
    expect(
      api.calls
        .slice(0, 2)
        .map((c) => c.method)
        .sort(),
    ).toEqual(['deleteWebhook', 'getMe']);
    await waitFor(() => api.polling > 0, 'a getUpdates held open');
    const poll = api.calls.find((c) => c.method === 'getUpdates')!;
    expect(poll.body).toMatchObject({ timeout: 30, allowed_updates: ['message'] });
  });

  it('/job pause <id> <note> from an allowed chat pauses the job with that note', async () => {
    const answer = await ask(OPS, '/job pause report closed for lunch');
    expect(answer.text).toBe('Paused report (note: closed for lunch). Resume with /job resume report');
    expect(await scheduler.get('report')).toMatchObject({ enabled: false, paused: true, pauseNote: 'closed for lunch' });
    const audit = await scheduler.audit({ jobId: 'report', limit: 5 });
    expect(audit.find((e) => e.action === 'pause')?.actor).toBe('telegram:alice');
    expect((await ask(OPS, '/job resume report')).text).toMatch(/^Resumed report; next run \d{4}-01-01 18:00:00 Asia\/Seoul\.$/);
    expect(await scheduler.get('report')).toMatchObject({ enabled: true, pauseNote: null });
  });

  it('sends plain text: a note with markup comes back verbatim, never interpreted', async () => {
    const note = '<b>x</b> & *y* _z_ [a](http://e.x) `c`';
    const answer = await ask(OPS, `/job pause lunch-orders ${note}`);
    expect(answer.text).toBe(`Paused lunch-orders (note: ${note}). Resume with /job resume lunch-orders`);
    expect(answer.body).not.toHaveProperty('parse_mode');
    expect(answer.body).not.toHaveProperty('entities');
    expect((await scheduler.get('lunch-orders')).pauseNote).toBe(note);
    expect((await ask(OPS, '/job status')).text).toContain(`lunch-orders: PAUSED (${note}), every 1h`);
    await scheduler.resume('lunch-orders');
  });

  it('/job run <id> key=value creates a manual run with those params; /job runs lists it', async () => {
    const answer = await ask(OPS, '/job run report reason="closed for lunch" n=2 dry=true');
    const runId = /^Run of report requested \(run ([0-9a-f-]{36})\)\.$/.exec(answer.text)?.[1];
    expect(runId, answer.text).toBeDefined();
    const [run] = await scheduler.runs('report', { limit: 1 });
    expect(run).toMatchObject({
      runId,
      triggerSource: 'manual',
      status: 'pending',
      params: { reason: 'closed for lunch', n: 2, dry: true },
    });
    const runs = await ask(OPS, '/job runs report');
    expect(runs.text).toMatch(
      new RegExp(
        `^Last runs of report \\(newest first\\):\\n- \\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\d:\\d\\d Asia/Seoul manual pending \\(run ${runId!.slice(0, 8)}\\)$`,
      ),
    );
    expect((await ask(OPS, '/job runs lunch-orders')).text).toBe('lunch-orders has no runs yet.');
    expect((await ask(OPS, '/job run report oops')).text).toMatch(/^Could not run report: "oops" is not key=value/);
    expect(await scheduler.runs('report')).toHaveLength(1);
  });

  it('prints every time in the configured time zone', async () => {
    const job = await scheduler.get('report');
    const seoul = (d: Date) => `${new Date(d.getTime() + 9 * 3_600_000).toISOString().replace('T', ' ').slice(0, 19)} Asia/Seoul`;
    expect(seoul(job.nextDueAt!)).toMatch(/-01-01 18:00:00 Asia\/Seoul$/);
    expect((await ask(OPS, '/job status report')).text).toContain(`next run: ${seoul(job.nextDueAt!)}`);
    expect((await ask(OPS, '/job status')).text).toContain(`report: active, cron 0 9 1 1 *, next ${seoul(job.nextDueAt!)}, never ran`);
  });

  it('a chat not in allowedChatIds changes nothing, gets the refusal, and is logged', async () => {
    const answer = await ask(STRANGER, '/job pause report mine now', { id: 6666, username: 'mallory' });
    expect(answer.text).toBe('This chat is not allowed to control jobs.');
    expect(await scheduler.get('report')).toMatchObject({ enabled: true, pauseNote: null });
    expect((await scheduler.audit({ jobId: 'report', limit: 50 })).filter((e) => e.action === 'pause')).toHaveLength(1);
    expect(warned.at(-1)).toMatchObject({
      message: expect.stringContaining('refused /job from chat 6666'),
      fields: { chatId: 6666, user: 'mallory' },
    });
  });

  it('in a group answers /job@ThisBot and plain /job, never /job@OtherBot', async () => {
    const before = api.sent.length;
    api.message(GROUP, '/job@OtherBot status');
    api.message(GROUP, '/job@OtherBot pause report');
    const mine = await ask(GROUP, '/job@warrentestbot status');
    // Updates are handled in order, so the two before it have been handled: unanswered.
    expect(api.sent.slice(before).filter((m) => m.chatId === GROUP.id)).toEqual([mine]);
    expect(mine.text).toMatch(/^Jobs \(2\):/);
    expect(mine.replyTo).toBeDefined();
    expect((await scheduler.get('report')).enabled).toBe(true);
    expect((await ask(GROUP, '/job help')).text).toContain('/job runs <id>');
  });

  it('a reply that fails to send is logged and polling goes on', async () => {
    api.failSendTo(OPS.id);
    api.message(OPS, '/job help');
    await waitFor(() => errors.find((e) => e.includes('chat not found')), 'the failed reply to be logged');
    api.failSendTo(null);
    expect((await ask(OPS, '/job help')).text).toContain('Job commands:');
  });

  it('close() stops polling and confirms what it handled; the next bot starts where it left off', async () => {
    await bot.close();
    expect(api.polling).toBe(0);
    expect(api.unconfirmed).toBe(0);
    const polls = api.getUpdatesCalls;
    api.message(OPS, '/job status report');
    expect(api.getUpdatesCalls).toBe(polls);
    expect(api.unconfirmed).toBe(1);

    await using next = createTelegramBot({ token: api.token, apiRoot: api.apiRoot, control: scheduler, allowedChatIds: [OPS.id] });
    const sentBefore = api.sent.length;
    await next.start();
    const answer = await waitFor(() => api.sent.slice(sentBefore).find((m) => m.chatId === OPS.id), 'the new bot to answer');
    expect(answer.text).toMatch(/^report: active/);
    expect(answer.text).toContain(' UTC');
    await next.close();
    expect(api.sent.length).toBe(sentBefore + 1);
  });
});

describe('createTelegramBot: start, close and options', () => {
  const control = {
    list: async () => [],
    get: async () => ({}),
    pause: async () => ({}),
    resume: async () => ({}),
    runNow: async () => ({}),
    runs: async () => [],
  } as never;
  let api: FakeBotApi;
  beforeAll(async () => {
    api = await startFakeBotApi();
  });
  afterAll(async () => {
    await api?.close();
  });

  it('a token Telegram refuses rejects start() with ERR_UNAUTHORIZED', async () => {
    const bot = createTelegramBot({ token: '999:not-this-one', apiRoot: api.apiRoot, control, allowedChatIds: [1] });
    const error = await bot.start().catch((e: unknown) => e);
    expect(isWarrenError(error, 'ERR_UNAUTHORIZED')).toBe(true);
    await bot.close();
  });

  it('start() twice is one start; start() after close() rejects with ERR_CLOSED', async () => {
    const bot = createTelegramBot({ token: api.token, apiRoot: api.apiRoot, control, allowedChatIds: [1] });
    const first = bot.start();
    expect(bot.start()).toBe(first);
    await first;
    await bot.close();
    await bot.close();
    const late = createTelegramBot({ token: api.token, apiRoot: api.apiRoot, control, allowedChatIds: [1] });
    await late.close();
    expect(isWarrenError(await late.start().catch((e: unknown) => e), 'ERR_CLOSED')).toBe(true);
  });

  it('a 409 Conflict (another process polls with the token) stops polling and is logged', async () => {
    const errors: string[] = [];
    const bot = createTelegramBot({
      token: api.token,
      apiRoot: api.apiRoot,
      control,
      allowedChatIds: [1],
      logger: { error: (m) => errors.push(m) },
    });
    await bot.start();
    await waitFor(() => api.polling > 0, 'a getUpdates held open');
    api.conflict();
    await waitFor(
      () => errors.find((e) => e.startsWith('warren telegram: long polling stopped') && e.includes('409')),
      'the conflict to be logged',
    );
    const polls = api.getUpdatesCalls;
    await bot.close();
    expect(api.getUpdatesCalls).toBe(polls);
    expect(api.polling).toBe(0);
  });

  it('rejects bad options with ERR_INVALID_OPTION naming the option', () => {
    const base = { token: api.token, control, allowedChatIds: [1] };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...base, token: 'not a token' }, 'token'],
      [{ ...base, timezone: 'Mars/Olympus_Mons' }, 'timezone'],
      [{ ...base, apiRoot: 'http://127.0.0.1:1/' }, 'apiRoot'],
      [{ ...base, pollingTimeout: 51 }, 'pollingTimeout'],
      [{ ...base, allowedChatIds: [] }, 'allowedChatIds'],
      [{ ...base, webhook: true }, 'webhook'],
    ];
    for (const [options, field] of cases) {
      let caught: unknown;
      try {
        createTelegramBot(options as never);
      } catch (error) {
        caught = error;
      }
      expect(isWarrenError(caught, 'ERR_INVALID_OPTION'), field).toBe(true);
      expect((caught as { field: string }).field).toBe(field);
    }
  });
});

describe('warrenCommands: middleware for a grammY bot of your own', () => {
  it('answers /job and passes everything else to the next handler', async () => {
    const api = await startFakeBotApi({ username: 'OwnBot' });
    const bot = new Bot(api.token, { client: { apiRoot: api.apiRoot } });
    const control = {
      list: async () => [],
      get: async () => ({}),
      pause: async () => ({}),
      resume: async () => ({}),
      runNow: async () => ({}),
      runs: async () => [],
    } as never;
    bot.use(warrenCommands({ control, allowedChatIds: [OPS.id] }));
    bot.on('message:text', (ctx) => ctx.reply(`echo: ${ctx.message.text}`));
    bot.catch(() => {});
    const polling = new Promise<void>((resolve, reject) => {
      bot.start({ timeout: 30, onStart: () => resolve() }).catch(reject);
    });
    await polling;
    try {
      api.message(OPS, '/hello');
      api.message(OPS, '/job status');
      api.message(OPS, '/job@SomeOtherBot status');
      await waitFor(() => api.sent.length >= 3, 'three answers');
      expect(api.sent.map((m) => m.text)).toEqual(['echo: /hello', 'No jobs.', 'echo: /job@SomeOtherBot status']);
    } finally {
      await bot.stop();
      await api.close();
    }
  });
});

describe('warren/telegram without grammy installed', () => {
  it('loads, and createTelegramCommands works; only createTelegramBot().start() needs grammy', async () => {
    // A resolve hook that makes `grammy` unresolvable, as for a user who never installed it.
    const hook = `data:text/javascript,${encodeURIComponent(`import { register } from 'node:module'; register('data:text/javascript,' + encodeURIComponent("export async function resolve(s, c, n) { if (s === 'grammy' || s.startsWith('grammy/')) { const e = new Error('Cannot find package grammy'); e.code = 'ERR_MODULE_NOT_FOUND'; throw e; } return n(s, c); }"));`)}`;
    const script = `
      const t = await import('./src/telegram/index.ts');
      const control = { list: async () => [], get() {}, pause() {}, resume() {}, runNow() {}, runs() {} };
      const reply = await t.createTelegramCommands({ control, allowedChatIds: [1] }).handle({ chatId: 1, text: '/job status' });
      const started = await t.createTelegramBot({ token: '1:x', control, allowedChatIds: [1] }).start().then(() => 'started', (e) => e.message);
      const direct = await import('grammy').then(() => 'grammy loaded', (e) => e.message);
      console.log(JSON.stringify({ reply, started, direct }));`;
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['--import', 'tsx', '--import', hook, '--input-type=module', '-e', script],
      { cwd: process.cwd() },
    );
    expect(JSON.parse(stdout)).toEqual({ reply: 'No jobs.', started: 'Cannot find package grammy', direct: 'Cannot find package grammy' });
  });
});
