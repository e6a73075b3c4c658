import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isWarrenError } from '../../src/errors.js';
import { createTelegramCommands, type TelegramCommands, type TelegramControl } from '../../src/telegram/index.js';
import { waitFor } from '../helpers/wait.js';
import { adapterFixture, type AdapterFixture } from './setup.js';

const OPS_CHAT = -100123456789;
const ME = 4242;

describe('warren/telegram over a real scheduler (PostgreSQL + RabbitMQ)', () => {
  let fx: AdapterFixture;
  let bot: TelegramCommands;
  const logged: string[] = [];
  const say = (text: string, chatId: number | string = OPS_CHAT, user?: string) => bot.handle({ chatId, text, ...(user ? { user } : {}) });

  beforeAll(async () => {
    fx = await adapterFixture('telegram');
    bot = createTelegramCommands({
      control: fx.scheduler,
      allowedChatIds: [OPS_CHAT, String(ME)],
      logger: { error: (m) => logged.push(m) },
    });
  });

  afterAll(async () => {
    await fx?.teardown();
  });

  it('answers null to anything that is not its command', async () => {
    for (const text of ['hello', '/start', '/jobs status', 'job status', '', '  ']) expect(await say(text)).toBeNull();
    expect(await bot.handle({ chatId: OPS_CHAT, text: undefined })).toBeNull();
  });

  it('refuses chats that are not allowed, and changes nothing', async () => {
    const reply = await say('/job pause report', 777);
    expect(reply).toBe('This chat is not allowed to control jobs.');
    expect(await fx.store.getJob(fx.scope, 'report')).toMatchObject({ enabled: true });
    const silent = createTelegramCommands({ control: fx.scheduler, allowedChatIds: [OPS_CHAT], refusal: null });
    expect(await silent.handle({ chatId: 777, text: '/job status' })).toBeNull();
    // A chat id given as a string matches the same number.
    expect(await say('/job help', ME)).toContain('Job commands:');
  });

  it('/job help and a bare /job list the commands; unknown ones say so', async () => {
    const help = await say('/job help');
    expect(help).toContain('/job status <id>');
    expect(help).toContain('/job run <id> [params]');
    expect(help).toContain('/job runs <id>');
    expect(await say('/job')).toBe(help);
    const unknown = await say('/job frobnicate report');
    expect(unknown).toMatch(/^Unknown command "frobnicate"/);
    expect(await say('/job run')).toBe('Which job? Usage: /job run <id>');
  });

  it('/job status summarises every job; /job status <id> shows one with its runs', async () => {
    const all = await say('/job status');
    expect(all).toMatch(/^Jobs \(1\):\nreport: active, cron 0 0 1 1 \*, next \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC, never ran$/);
    const one = await say('/job@WarrenBot status report');
    expect(one).toContain('report: active');
    expect(one).toContain('schedule: cron 0 0 1 1 *');
    expect(one).toContain('last run: never');
    expect(one).toContain('description: yearly report');
  });

  it('/job pause <id> <note> pauses in the store with the note and the sender as actor; /job resume resumes', async () => {
    const paused = await say('/job pause report deploying v2, back at 10', OPS_CHAT, 'alice');
    expect(paused).toBe('Paused report (note: deploying v2, back at 10). Resume with /job resume report');
    expect(await fx.store.getJob(fx.scope, 'report')).toMatchObject({ enabled: false, pauseNote: 'deploying v2, back at 10' });
    expect(await say('/job status')).toContain('report: PAUSED (deploying v2, back at 10), cron 0 0 1 1 *, never ran');
    expect(await say('/job status report')).toContain('next run: paused');

    const resumed = await say('/JOB Resume report');
    expect(resumed).toMatch(/^Resumed report; next run \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\.$/);
    expect(await fx.store.getJob(fx.scope, 'report')).toMatchObject({ enabled: true, pauseNote: null });

    const audit = await fx.scheduler.audit({ jobId: 'report', limit: 10 });
    expect(audit.find((e) => e.action === 'pause')?.actor).toBe('telegram:alice');
    expect(audit.find((e) => e.action === 'resume')?.actor).toBe(`telegram:${OPS_CHAT}`);
  });

  it('/job run <id> {json} records a manual run that the worker executes, curly quotes included', async () => {
    const reply = await say('/job run report {“reason”: “telegram”, "n": 2}');
    const runId = /\(run ([0-9a-f-]{36})\)/.exec(reply ?? '')?.[1];
    expect(reply).toMatch(/^Run of report requested \(run [0-9a-f-]{36}\)\.$/);
    const run = await fx.store.getRun(runId!);
    expect(run).toMatchObject({ jobId: 'report', triggerSource: 'manual', params: { reason: 'telegram', n: 2 } });
    await waitFor(() => fx.executions.find((e) => e.runId === runId), 'the worker to execute the run');
    await waitFor(async () => (await fx.store.getRun(runId!))?.status === 'succeeded', 'the run to succeed');
    const status = await say('/job status report');
    expect(status).toContain(`manual succeeded (run ${runId!.slice(0, 8)})`);
    const plain = await say('/job run report');
    expect(plain).toMatch(/^Run of report requested/);
  });

  it('answers bad input and unknown jobs in words, creating nothing', async () => {
    const before = (await fx.store.listRuns(fx.scope, { jobId: 'report', limit: 1000 })).length;
    expect(await say('/job run report {"reason": ')).toMatch(/^Could not run report: the params are not valid JSON/);
    expect(await say('/job run report [1, 2]')).toBe('Could not run report: the params must be a JSON object, like {"key":"value"}.');
    expect((await fx.store.listRuns(fx.scope, { jobId: 'report', limit: 1000 })).length).toBe(before);
    expect(await say('/job pause ghost')).toBe('No such job "ghost". Try /job status for the list.');
    expect(await say('/job run ghost')).toBe('No such job "ghost". Try /job status for the list.');
    expect(await say('/job status ghost')).toBe('No such job "ghost". Try /job status for the list.');
  });

  it('answers an unexpected failure without its details, and logs it', async () => {
    const s = fx.scheduler;
    const failing: TelegramControl = {
      list: () => Promise.reject(new Error('connect ECONNREFUSED 10.0.0.7:5432')),
      get: (id) => s.get(id),
      pause: (id, o) => s.pause(id, o),
      resume: (id, o) => s.resume(id, o),
      runNow: (id, o) => s.runNow(id, o),
      runs: (id, o) => s.runs(id, o),
    };
    const broken = createTelegramCommands({ control: failing, allowedChatIds: [OPS_CHAT], logger: { error: (m) => logged.push(m) } });
    const reply = await broken.handle({ chatId: OPS_CHAT, text: '/job status' });
    expect(reply).toBe('Could not get the status: internal error (details are in the server log).');
    expect(reply).not.toContain('ECONNREFUSED');
    expect(logged.some((line) => line.includes('ECONNREFUSED'))).toBe(true);
    expect(await broken.handle({ chatId: OPS_CHAT, text: '/job status report' })).toContain('report: active');
  });

  it('keeps long replies under maxReplyLength, cut at a line', async () => {
    for (let i = 0; i < 12; i++)
      await fx.scheduler.upsert({ id: `bulk-${String(i).padStart(2, '0')}`, queue: 'bulk', schedule: { every: '2h' } }, { actor: 'test' });
    const short = createTelegramCommands({ control: fx.scheduler, allowedChatIds: [OPS_CHAT], maxReplyLength: 300 });
    const reply = (await short.handle({ chatId: OPS_CHAT, text: '/job status' }))!;
    expect(reply.length).toBeLessThanOrEqual(300);
    expect(reply).toMatch(/^Jobs \(13\):\n/);
    expect(reply).toMatch(/\n\.\.\. and \d+ more lines$/);
  });

  it('rejects bad options with ERR_INVALID_OPTION naming the option', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ control: fx.scheduler, allowedChatIds: [] }, 'allowedChatIds'],
      [{ control: fx.scheduler }, 'allowedChatIds'],
      [{ control: {}, allowedChatIds: [1] }, 'control'],
      [{ control: fx.scheduler, allowedChatIds: [1], command: '/job' }, 'command'],
      [{ control: fx.scheduler, allowedChatIds: [1.5] }, 'allowedChatIds.0'],
    ];
    for (const [options, field] of cases) {
      let caught: unknown;
      try {
        createTelegramCommands(options as never);
      } catch (error) {
        caught = error;
      }
      expect(isWarrenError(caught, 'ERR_INVALID_OPTION')).toBe(true);
      expect((caught as { field: string }).field).toBe(field);
    }
  });
});
