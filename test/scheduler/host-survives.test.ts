/**
 * Issue 11.1: a host wired the way the README shows (no `pool.on('error')`) survives
 * PostgreSQL terminating its connections. Before warren listened on the pool, the first
 * `pg_terminate_backend` of an idle client exited the host with an uncaught
 * "terminating connection due to administrator command".
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { AMQP_URL, DATABASE_URL } from '../helpers/env.js';
import { jsonLines } from '../helpers/json-lines.js';
import { waitFor } from '../helpers/wait.js';
import { schedulerFixture, type SchedulerFixture } from './setup.js';

const CHILD = fileURLToPath(new URL('../helpers/readme-host-child.ts', import.meta.url));
const BURSTS = 4;

let fx: SchedulerFixture;
let child: ChildProcess | undefined;
let lines: Array<Record<string, unknown>> = [];
let stderr = '';

beforeAll(async () => {
  fx = await schedulerFixture('host-survives');
});

afterAll(async () => {
  if (child && child.exitCode === null) child.kill('SIGKILL');
  await fx?.teardown();
});

it('keeps running jobs while every backend of the host is terminated, in bursts, and exits 0 on SIGTERM', async () => {
  const app = `warren-host-${fx.scope}`.slice(0, 60);
  child = spawn(process.execPath, ['--import', 'tsx', CHILD, DATABASE_URL, AMQP_URL, fx.schema, fx.scope, app], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  lines = jsonLines(child.stdout!);
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const exited = new Promise<number | null>((resolve) => child!.once('exit', (code) => resolve(code)));
  const runs = () => lines.filter((l) => typeof l.ran === 'string').length;

  await waitFor(() => runs() >= 2, 'the host to run its job twice', { timeoutMs: 60_000 });
  for (let burst = 1; burst <= BURSTS; burst++) {
    const killed = await fx.killBackends(app);
    expect(killed).toBeGreaterThan(0);
    const before = runs();
    // The host is alive and its job runs again after each burst.
    await waitFor(() => child!.exitCode === null && runs() > before, `a run after burst ${burst}`, { timeoutMs: 60_000 });
  }
  expect(child.exitCode).toBeNull();

  child.kill('SIGTERM');
  expect(await exited).toBe(0);
  const closed = lines.find((l) => l.closed === true);
  expect(closed, stderr).toBeDefined();
  // The terminations were reported through warren's events, not thrown.
  expect(closed!.errors as number).toBeGreaterThan(0);
  expect(stderr).not.toMatch(/terminating connection due to administrator command/);
}, 300_000);
