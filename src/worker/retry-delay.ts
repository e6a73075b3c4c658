/**
 * Capped, jittered exponential backoff for the worker's own reconnect/retry loops (boot,
 * claims, completions). "Equal jitter": half the step fixed, half random, so replicas that
 * failed together do not retry in lock-step, yet each waits at least half the step.
 */
export function retryDelayMs(attempt: number, baseMs: number, capMs: number, random: () => number = Math.random): number {
  const step = Math.min(capMs, baseMs * 2 ** Math.max(0, Math.min(30, attempt - 1)));
  return Math.round(step / 2 + random() * (step / 2));
}
