import { settle, type FakeClock } from '../../src/clock.js';

/**
 * Waits for a condition (an event, a row, a count), polling it; never a fixed sleep
 * standing in for one. Fails with `what` when the deadline passes.
 */
export async function waitFor<T>(
  check: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  what: string,
  { timeoutMs = 30_000, intervalMs = 20 }: { timeoutMs?: number; intervalMs?: number } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== null && value !== false) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}

/**
 * `waitFor` on a fake clock: lets `clock` run until `check` holds. Each round lets pending
 * promises settle and fires the timers due; with `stepMs` time also moves on by that much
 * a round (failing after `maxMs` of fake time), without it time stays put (failing after
 * 200 rounds).
 */
export async function waitOnClock(
  clock: FakeClock,
  check: () => boolean | Promise<boolean>,
  what: string,
  { stepMs = 0, maxMs = 120_000 }: { stepMs?: number; maxMs?: number } = {},
): Promise<void> {
  if (stepMs === 0) {
    for (let round = 0; round < 200; round++) {
      await clock.flush();
      if (await check()) return;
    }
    throw new Error(`never happened in 200 rounds at one instant: ${what}`);
  }
  const end = clock.now() + maxMs;
  for (;;) {
    await settle(5);
    if (await check()) return;
    if (clock.now() >= end) throw new Error(`fake time ran out waiting for ${what}`);
    await clock.advance(stepMs);
  }
}
