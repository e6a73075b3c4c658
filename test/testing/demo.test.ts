/**
 * `npm run demo` works on a fresh clone with no services configured, and with them: the
 * demo runs as a child process, exits 0 on its own and printed succeeded runs.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { cleanupScope } from '../helpers/amqp.js';
import { assertBuilt } from '../helpers/built.js';
import { AMQP_URL, DATABASE_URL, uniqueToken } from '../helpers/env.js';

const run = promisify(execFile);
const tsx = 'node_modules/.bin/tsx';

function envWithout(...names: string[]): NodeJS.ProcessEnv {
  const env = { ...process.env };
  for (const name of names) delete env[name];
  return env;
}

const scope = uniqueToken('demo');
const schema = `t_${uniqueToken('demo')}`;

// The demo imports warren by its package name: it runs the built package.
beforeAll(assertBuilt);

afterAll(async () => {
  await cleanupScope(scope);
  const client = new pg.Client({ connectionString: DATABASE_URL });
  await client.connect();
  await client.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`);
  await client.end();
});

describe.concurrent('npm run demo', () => {
  test('with no services configured: in-memory store and broker, real clock', async () => {
    const { stdout } = await run(tsx, ['examples/demo.ts', '--duration', '6'], {
      env: envWithout('DATABASE_URL', 'AMQP_URL'),
      timeout: 45_000,
    });
    expect(stdout).toMatch(/in-memory store and broker/);
    expect(stdout).toMatch(/buy-scanner\s+\S+\s+attempt 1\/3\s+succeeded/);
    expect(stdout).toMatch(/scout-daily\s+startup\s+attempt 1\/3\s+succeeded/);
    expect(stdout).toMatch(/control: pause news-crawler/);
    expect(stdout).toMatch(/control: runNow buy-scanner/);
    expect(stdout).toMatch(/control: resume news-crawler/);
    expect(stdout).toMatch(/runs: \d+ succeeded/);
  });

  test('with DATABASE_URL and AMQP_URL: PostgreSQL and RabbitMQ', async () => {
    const { stdout } = await run(tsx, ['examples/demo.ts', '--duration', '6', '--scope', scope, '--schema', schema], {
      env: { ...process.env, DATABASE_URL, AMQP_URL },
      timeout: 45_000,
    });
    expect(stdout).toMatch(/PostgreSQL .* \+ RabbitMQ/);
    expect(stdout).toMatch(/succeeded/);
    expect(stdout).toMatch(/control: runNow buy-scanner/);
    expect(stdout).toMatch(/runs: \d+ succeeded/);
  });
});
