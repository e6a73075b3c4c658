import { describe, expect, test } from 'vitest';
import { NonRetryableError, defineJob } from '../../src/index.js';
import { createTestHarness } from '../../src/testing/index.js';

// The job under test, as the application defines it.
const morningReport = defineJob({
  id: 'morning-report',
  schedule: { cron: '0 9 * * 1-5', tz: 'Asia/Seoul' },
  retry: { maxAttempts: 3, backoff: { type: 'exponential', delay: '30s', jitter: 0 } },
});

describe('morning-report', () => {
  test('runs on weekday mornings and rides out two failures and a crash', async () => {
    const sent: string[] = [];
    const h = createTestHarness({
      jobs: [morningReport],
      handlers: {
        'morning-report': async (ctx) => {
          await h.clock.sleep(60_000, ctx.signal); // a minute of (fake) work
          sent.push(ctx.scheduledFor.toISOString().slice(0, 10));
        },
      },
      start: '2025-01-05T12:00:00Z', // Sunday 21:00 in Seoul
    });
    await h.start();
    try {
      // Monday's run fails twice, then succeeds on its third attempt.
      h.failNext('morning-report', 2);
      await h.advance('1d');
      const [monday] = await h.history('morning-report');
      expect(monday?.status).toBe('succeeded');
      expect(monday?.attempts.map((a) => a.status)).toEqual(['failed', 'failed', 'succeeded']);
      // The policy's backoff: 30 s, then 60 s.
      expect(monday?.attempts.map((a) => a.retryAt && a.retryAt.getTime() - a.finishedAt!.getTime())).toEqual([30_000, 60_000, null]);

      // Tuesday's worker dies mid-run: the run waits out its lease and is retried.
      await h.advanceTo('2025-01-07T00:00:30Z');
      const [crashed] = await h.crashWorker();
      const tuesday = await h.waitFor(crashed!);
      expect(tuesday).toMatchObject({ status: 'succeeded', attempt: 2 });

      // The rest of the week: Wednesday to Friday, nothing at the weekend.
      await h.advance('5d');
      expect(sent).toEqual(['2025-01-06', '2025-01-07', '2025-01-08', '2025-01-09', '2025-01-10']);
    } finally {
      await h.close();
    }
  });

  test('pause, run now while paused, resume, and a bad input dead-lettered', async () => {
    const h = createTestHarness({ jobs: [morningReport], start: '2025-01-06T00:30:00Z' });
    await h.start();
    try {
      await h.pause('morning-report', { note: 'holiday' });
      await h.advance('1d'); // Tuesday 09:00 passes while paused

      h.failNext('morning-report', new NonRetryableError('no recipients'));
      const manual = await h.runNow('morning-report');
      expect(await h.waitFor(manual.runId)).toMatchObject({ status: 'dead', triggerSource: 'manual' });
      expect(h.deadLetters('morning-report')).toHaveLength(1);

      await h.resume('morning-report');
      await h.advance('1d'); // Wednesday 09:00 runs
      const runs = await h.history('morning-report');
      expect(runs.map((r) => `${r.triggerSource}:${r.status}`)).toEqual(['manual:dead', 'scheduler:succeeded']);
      expect((await h.audit({ jobId: 'morning-report' })).map((a) => a.action)).toEqual(
        expect.arrayContaining(['pause', 'run-now', 'resume']),
      );
    } finally {
      await h.close();
    }
  });
});
