import type { Clock } from '../clock.js';

/**
 * Waits for `promise`, but at most `ms` on `clock`: resolves `true` once it settles (its
 * rejection is passed on), or `false` once the timer fires first, after calling
 * `onTimeout`. The timer is armed even for `ms <= 0` (it fires on the clock's next turn),
 * so a promise that is about to settle still can. The promise is not cancelled: it goes
 * on in the background. The timer is cleared as soon as either side wins.
 */
export async function withDeadline(clock: Clock, promise: PromiseLike<unknown>, ms: number, onTimeout?: () => void): Promise<boolean> {
  let timer: { cancel(): void } | undefined;
  const over = new Promise<false>((resolve) => {
    timer = clock.setTimer(() => {
      onTimeout?.();
      resolve(false);
    }, ms);
  });
  try {
    return await Promise.race([Promise.resolve(promise).then(() => true as const), over]);
  } finally {
    timer?.cancel();
  }
}
