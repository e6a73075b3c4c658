/**
 * A user's own fake timers must not break the harness: FakeClock and the harness captured
 * the real timers at import and never patch globals.
 */
import { afterEach, expect, test, vi } from 'vitest';
import { defineJob } from '../../src/define/define-job.js';
import { createTestHarness } from '../../src/testing/harness.js';

afterEach(() => {
  vi.useRealTimers();
});

test('works under vi.useFakeTimers(), and leaves the faked globals alone', async () => {
  vi.useFakeTimers({ now: new Date('2030-01-01T00:00:00Z') });
  const fakedSetTimeout = globalThis.setTimeout;
  const seen: number[] = [];
  const h = createTestHarness({
    jobs: [defineJob({ id: 'poll', schedule: { every: '5m' } })],
    handlers: { poll: () => void seen.push(Date.now()) },
    start: '2025-01-06T00:00:00Z',
  });
  await h.start();
  await h.advance('1h');
  const runs = await h.history('poll');
  await h.close();

  expect(runs).toHaveLength(12);
  expect(runs.every((r) => r.status === 'succeeded')).toBe(true);
  expect(runs[0]!.scheduledFor.toISOString()).toBe('2025-01-06T00:05:00.000Z');
  // The harness's time is its own: the user's faked Date did not move, nor was it used.
  expect(seen.every((t) => t === Date.parse('2030-01-01T00:00:00Z'))).toBe(true);
  expect(globalThis.setTimeout).toBe(fakedSetTimeout);
  expect(vi.getTimerCount()).toBe(0);
});
