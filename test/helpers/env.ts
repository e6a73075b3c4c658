/** Where the tests find the real services. CI and a fresh machine use the defaults. */
export const DATABASE_URL = process.env.WARREN_TEST_DATABASE_URL ?? process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
export const AMQP_URL = process.env.WARREN_TEST_AMQP_URL ?? process.env.AMQP_URL ?? 'amqp://guest:guest@127.0.0.1:5672';
/** The broker's port, for a TCP proxy in front of it. */
export const AMQP_PORT = Number(new URL(AMQP_URL).port || 5672);

/** A short unique token for schema names, scopes and queue prefixes of one test file. */
export function uniqueToken(label: string): string {
  const clean = label
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .slice(0, 16);
  return `${clean}_${process.pid.toString(36)}${Math.random().toString(36).slice(2, 7)}`;
}
