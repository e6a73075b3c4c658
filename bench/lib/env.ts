/** Where the benches find the services. Loopback defaults; override with the same variables as the tests. */
export const DATABASE_URL = process.env.WARREN_BENCH_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const AMQP_URL = process.env.WARREN_BENCH_AMQP_URL ?? process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
export const REDIS_URL = process.env.WARREN_BENCH_REDIS_URL ?? process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

/** A short unique token for queue names, scopes and schemas of one bench run. */
export function benchToken(label: string): string {
  return `bench_${label}_${process.pid.toString(36)}${Math.random().toString(36).slice(2, 6)}`;
}

/** Only loopback: a bench never talks to a remote service by accident. */
export function assertLoopback(url: string, what: string): void {
  const host = new URL(url).hostname;
  if (!['127.0.0.1', 'localhost', '::1', '[::1]'].includes(host)) {
    throw new Error(`${what} must be on loopback for a bench (got host ${host}); pass --allow-remote to override`);
  }
}
