/**
 * `npm run fleet` without what it needs says what to set and exits 2, before starting
 * anything; so does each service started by hand.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { beforeAll, describe, expect, test } from 'vitest';
import { ADMIN_TOKEN, ROOT, assertBuilt } from './helpers.js';

const run = promisify(execFile);

async function exitOf(script: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ code: number; stderr: string; stdout: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['--import', 'tsx', `examples/fleet/${script}`, ...args], {
      cwd: ROOT,
      env: { PATH: process.env.PATH, ...env },
      timeout: 60_000,
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const e = error as { code: number; stdout: string; stderr: string };
    return { code: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

beforeAll(assertBuilt);

describe.concurrent('fleet settings', () => {
  test('the launcher with no DATABASE_URL, AMQP_URL or token: exit 2 naming each, nothing started', async () => {
    const { code, stderr, stdout } = await exitOf('run.ts', ['--scope', 'mock'], {});
    expect(code).toBe(2);
    expect(stderr).toMatch(/real PostgreSQL and RabbitMQ/);
    for (const name of ['DATABASE_URL', 'AMQP_URL', 'WARREN_ADMIN_TOKEN']) expect(stderr).toContain(`  ${name}: `);
    expect(stderr).toMatch(/npm run demo needs none of them/);
    expect(stdout).toBe('');
  });

  test('an unknown scope, or none: exit 2', async () => {
    const env = { DATABASE_URL: 'postgres://x@127.0.0.1/x', AMQP_URL: 'amqp://127.0.0.1', WARREN_ADMIN_TOKEN: ADMIN_TOKEN };
    const bogus = await exitOf('run.ts', ['--scope', 'staging'], env);
    expect(bogus.code).toBe(2);
    expect(bogus.stderr).toContain('--scope: expected real or mock, got "staging"');
    const none = await exitOf('run.ts', [], env);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('--scope real or --scope mock');
  });

  test('--every without --register: exit 2', async () => {
    const { code, stderr } = await exitOf('run.ts', ['--scope', 'mock', '--every', '5s'], {
      DATABASE_URL: 'postgres://x@127.0.0.1/x',
      AMQP_URL: 'amqp://127.0.0.1',
      WARREN_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    expect(code).toBe(2);
    expect(stderr).toContain('add --register');
  });

  test('a worker service started by hand without the broker URL: exit 2 naming it', async () => {
    const { code, stderr } = await exitOf('scout.ts', ['--scope', 'mock'], { DATABASE_URL: 'postgres://x@127.0.0.1/x' });
    expect(code).toBe(2);
    expect(stderr).toContain('Set AMQP_URL: ');
    expect(stderr).not.toContain('DATABASE_URL');
  });

  test('the bot without its token and chats: exit 2; it never asks for database credentials', async () => {
    const { code, stderr } = await exitOf('telegram-bot.ts', ['--scope', 'mock'], { WARREN_ADMIN_TOKEN: ADMIN_TOKEN });
    expect(code).toBe(2);
    expect(stderr).toContain('Set TELEGRAM_BOT_TOKEN: ');
    expect(stderr).not.toMatch(/DATABASE_URL|AMQP_URL/);
  });

  test('register-jobs with a bad --every: exit 2', async () => {
    const { code, stderr } = await exitOf('register-jobs.ts', ['--scope', 'mock', '--every', 'soon'], { WARREN_ADMIN_TOKEN: ADMIN_TOKEN });
    expect(code).toBe(2);
    expect(stderr).toContain('--every: expected a period such as 20s');
  });
});
