/**
 * The seed's boot crash, fixed: its price-monitor died at boot when RabbitMQ was not up
 * ("Service initialization failed"). examples/fleet/price-monitor.ts, started as its own
 * process with RabbitMQ unreachable (a TCP proxy that refuses), stays up and keeps trying;
 * once the broker is let through it runs its jobs (start, then stop, of the monitor loop)
 * without a restart, and exits 0 on SIGTERM.
 */
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { createScheduler, type Scheduler } from '../../src/index.js';
import { cleanupScope } from '../helpers/amqp.js';
import { AMQP_PORT, AMQP_URL, uniqueToken } from '../helpers/env.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';
import { waitFor } from '../helpers/wait.js';
import { assertBuilt, fleetEnv, freePortRange, killGroup, seedBodies, startProcess, type Proc } from './helpers.js';

const prefix = `${uniqueToken('fboot')}_`;
const scope = `${prefix}mock`;
let db: TestDatabase;
let scheduler: Scheduler;
let proxy: TcpProxy | undefined;
let proc: Proc | undefined;

beforeAll(async () => {
  await assertBuilt();
  db = await createTestDatabase('fleet_boot');
  // The scheduler side reaches RabbitMQ; only the price-monitor's path to it is cut.
  scheduler = createScheduler({ pool: db.pool, schema: db.schema, amqpUrl: AMQP_URL, scope });
  await scheduler.start();
  for (const body of seedBodies('mock', scope).filter((b) => b.queue.endsWith('.jobs.price-monitor'))) await scheduler.upsert(body);
});

afterAll(async () => {
  killGroup(proc);
  await proxy?.close();
  await scheduler?.close();
  await cleanupScope(scope);
  await db?.drop();
});

describe('price-monitor boots with RabbitMQ unreachable', () => {
  test('it waits, then runs its jobs once the broker answers, without a restart', async () => {
    proxy = await startTcpProxy({ port: AMQP_PORT }, { paused: true });
    const port = await freePortRange(3);
    proc = startProcess(
      'price-monitor.ts',
      ['--scope', 'mock'],
      fleetEnv({ schema: db.schema, prefix, ports: { mock: port }, amqpUrl: proxy.url(AMQP_URL), extra: { PRICE_TICK_MS: '200' } }),
      { detached: true },
    );
    const pid = proc.child.pid;

    await proc.waitForLog((e) => e.msg.startsWith('started'), 'the service to start with RabbitMQ unreachable');
    await waitFor(() => proxy!.refused >= 3, 'price-monitor to keep trying the broker');
    // It says what it waits for, with the last connection error, and stays up.
    const waiting = await proc.waitForLog((e) => e.msg.startsWith('not ready yet'), 'the service to say it is waiting');
    expect(waiting).toMatchObject({ level: 'warn', service: 'price-monitor', error: expect.stringMatching(/\S/) });
    expect(proc.child.exitCode).toBeNull();
    expect(proc.entries.some((e) => e.msg === 'consuming')).toBe(false);

    // A start run triggered meanwhile waits in the queue for the monitor to come up.
    const start = await scheduler.runNow('mock-price-start');
    proxy.resume();

    await proc.waitForLog((e) => e.msg === 'consuming', 'the worker to consume once RabbitMQ answers');
    const started = await proc.waitForLog(
      (e) => e.msg === 'price monitor started' && e.job_id === 'mock-price-start',
      'the monitor loop to start',
    );
    expect(started).toMatchObject({ service: 'price-monitor', scope, trigger_source: 'manual' });
    await waitFor(
      async () => (await scheduler.runs('mock-price-start')).find((r) => r.runId === start.runId && r.status === 'succeeded'),
      'the start run recorded succeeded',
    );
    // The startup one-shot was inserted while the broker was down and ran once it was up.
    await waitFor(
      async () => (await scheduler.runs('price-monitor-startup')).find((r) => r.triggerSource === 'startup' && r.status === 'succeeded'),
      'the startup one-shot recorded succeeded',
    );

    const stop = await scheduler.runNow('mock-price-stop');
    await proc.waitForLog((e) => e.msg === 'price monitor stopped' && e.job_id === 'mock-price-stop', 'the monitor loop to stop');
    await waitFor(
      async () => (await scheduler.runs('mock-price-stop')).find((r) => r.runId === stop.runId && r.status === 'succeeded'),
      'the stop run recorded succeeded',
    );

    // The same process did all of it: one boot, never restarted.
    expect(proc.child.pid).toBe(pid);
    expect(proc.child.exitCode).toBeNull();
    expect(proc.entries.filter((e) => e.msg.startsWith('started')).length).toBe(1);

    proc.child.kill('SIGTERM');
    expect(await proc.exited).toBe(0);
    expect(proc.entries.at(-1)).toMatchObject({ msg: 'stopped', service: 'price-monitor' });
  });
});
