/**
 * The harness under `node:test` (no vitest): run with `node --import tsx --test`.
 * test/testing/node-test.test.ts runs this file as a child process.
 */
import assert from 'node:assert/strict';
import { test, mock } from 'node:test';
import { defineJob } from '../../../src/define/define-job.js';
import { createTestHarness } from '../../../src/testing/harness.js';

test('a weekday cron over a week of fake time under node:test', async () => {
  const h = createTestHarness({
    jobs: [defineJob({ id: 'standup', schedule: { cron: '0 10 * * 1-5', tz: 'Europe/Berlin' } })],
    start: '2025-01-05T00:00:00Z', // a Sunday
  });
  await h.start();
  try {
    await h.advance('7d');
    const runs = await h.history('standup');
    assert.deepEqual(
      runs.map((r) => r.scheduledFor.toISOString()),
      [
        '2025-01-06T09:00:00.000Z',
        '2025-01-07T09:00:00.000Z',
        '2025-01-08T09:00:00.000Z',
        '2025-01-09T09:00:00.000Z',
        '2025-01-10T09:00:00.000Z',
      ],
    );
    assert.ok(runs.every((r) => r.status === 'succeeded'));
  } finally {
    await h.close();
  }
});

test("with node:test's own mocked timers enabled", async () => {
  mock.timers.enable({ apis: ['setTimeout', 'setImmediate', 'Date'] });
  try {
    const h = createTestHarness({ jobs: [defineJob({ id: 'tick', schedule: { every: '1m' } })] });
    await h.start();
    await h.advance('10m');
    const runs = await h.history('tick');
    await h.close();
    assert.equal(runs.length, 10);
  } finally {
    mock.timers.reset();
  }
});
