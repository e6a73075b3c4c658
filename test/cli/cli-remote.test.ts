/**
 * The `warren` bin in remote mode: WARREN_ADMIN_URL + WARREN_ADMIN_TOKEN against
 * createAdminHandler on loopback, over a control-only scheduler on this file's own schema.
 * The CLI gets no DATABASE_URL: an operator's machine needs no database credentials.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createAdminHandler } from '../../src/http/index.js';
import { createScheduler, type Scheduler } from '../../src/scheduler/index.js';
import { migrate } from '../../src/store/migrate.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { ROOT, ensureCliBuilt, json, runCli, storedJobIds } from './run-cli.js';

const TOKEN = 'cli-remote-token-5d1e8a7c';
const SEED_REAL = join(ROOT, 'examples/jobs/seed-real.json');
const SEED_MOCK = join(ROOT, 'examples/jobs/seed-mock.json');

let db: TestDatabase;
let scheduler: Scheduler;
let server: http.Server;
let url: string;
let dir: string;
const warren = (args: string[], env: Record<string, string> = {}) =>
  runCli(args, { env: { WARREN_ADMIN_URL: url, WARREN_ADMIN_TOKEN: TOKEN, ...env } });

const jobIds = (scope: string) => storedJobIds(db, scope);

beforeAll(async () => {
  await ensureCliBuilt();
  db = await createTestDatabase('cli_remote');
  await migrate(db.pool, { schema: db.schema });
  scheduler = createScheduler({ pool: db.pool, schema: db.schema, scope: 'real', role: 'control-only', migrate: false });
  server = http.createServer(createAdminHandler({ control: scheduler, token: TOKEN, basePath: '/admin' }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/admin`;
  dir = mkdtempSync(join(tmpdir(), 'warren-cli-remote-'));
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await new Promise<void>((resolve) => {
    server?.closeAllConnections();
    if (server) server.close(() => resolve());
    else resolve();
  });
  await scheduler?.close();
  await db?.drop();
});

describe('warren over the admin API', () => {
  it('registers the seed file and steers the jobs with the same commands, no --scope needed', async () => {
    const upserted = await warren(['upsert', '--file', SEED_REAL]);
    expect(upserted.code, upserted.stderr).toBe(0);
    expect(upserted.stdout).toContain('upserted buy-scanner: active, cron */5 * * * *, queue mode, next ');
    expect(await jobIds('real')).toHaveLength(5);

    const list = json<Array<{ id: string; nextDueAt: string }>>(await warren(['jobs', '--json']));
    expect(list.map((job) => job.id).sort()).toEqual(await jobIds('real'));

    const paused = await warren(['pause', 'news-crawler', '--note', 'crawler banned until noon']);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toBe('paused news-crawler: paused: crawler banned until noon, cron */10 * * * *, queue mode\n');
    expect(json(await warren(['job', 'news-crawler', '--json']))).toMatchObject({
      paused: true,
      pauseNote: 'crawler banned until noon',
      job: { scope: 'real' },
    });
    expect((await warren(['resume', 'news-crawler'])).code).toBe(0);

    const run = json<{ runId: string; triggerSource: string; params: Record<string, unknown> }>(
      await warren(['run', 'price-monitor-stop', '--params', '{"force":true}', '--json']),
    );
    expect(run).toMatchObject({ triggerSource: 'manual', params: { action: 'stop', interval_seconds: 86400, force: true } });
    const runs = json<Array<{ runId: string }>>(await warren(['runs', 'price-monitor-stop', '--status', 'pending', '--json']));
    expect(runs.map((r) => r.runId)).toContain(run.runId);

    // The CLI's actor reaches the audit trail through the API.
    const audit = json<Array<{ action: string; actor: string }>>(await warren(['audit', '--job', 'news-crawler', '--json']));
    expect(audit.map((e) => e.action)).toEqual(['resume', 'pause', 'create']);
    expect(audit.every((e) => e.actor.includes('cli:'))).toBe(true);

    expect(json(await warren(['remove', 'scout-daily', '--json']))).toEqual({ id: 'scout-daily', removed: true });
    expect((await warren(['job', 'scout-daily'])).code).toBe(3);
  });

  it("refuses another scope's file with nothing written, with or without --scope", async () => {
    const mixed = join(dir, 'mixed.json');
    writeFileSync(
      mixed,
      JSON.stringify([{ job_id: 'unscoped-first', queue: 'plain', interval_seconds: 60 }, ...JSON.parse(readFileSync(SEED_MOCK, 'utf8'))]),
    );
    const withScope = await warren(['upsert', '--scope', 'real', '--file', mixed]);
    expect(withScope.code).toBe(4);
    expect(withScope.stderr).toContain('this command steers scope "real", the job names scope "mock"');
    // Without --scope the server refuses the first write (a body naming the scope goes first).
    const without = await warren(['upsert', '--file', mixed, '--json']);
    expect(without.code).toBe(4);
    expect(JSON.parse(without.stderr).error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'scope' });
    expect(await jobIds('real')).not.toContain('unscoped-first');
    expect(await jobIds('mock')).toEqual([]);

    const twoScopes = join(dir, 'two-scopes.json');
    writeFileSync(
      twoScopes,
      JSON.stringify([JSON.parse(readFileSync(SEED_REAL, 'utf8'))[0], JSON.parse(readFileSync(SEED_MOCK, 'utf8'))[0]]),
    );
    const two = await warren(['upsert', '--file', twoScopes]);
    expect(two.code).toBe(4);
    expect(two.stderr).toContain('[0] names scope "real" (one file, one scope)');
  });

  it('maps the API errors to the exit codes: 3 unknown job, 4 invalid body, 6 bad token, 5 nobody listening', async () => {
    const missing = await warren(['job', 'nope', '--json']);
    expect(missing.code).toBe(3);
    expect(JSON.parse(missing.stderr).error).toMatchObject({ code: 'ERR_JOB_NOT_FOUND', exitCode: 3 });

    const badLimit = await warren(['runs', 'buy-scanner', '--limit', '0']);
    expect(badLimit.code).toBe(4);

    const wrong = await warren(['jobs'], { WARREN_ADMIN_TOKEN: 'not-the-token-at-all-1234' });
    expect(wrong.code).toBe(6);
    expect(wrong.stderr).not.toContain('not-the-token-at-all-1234');
    const none = await runCli(['jobs'], { env: { WARREN_ADMIN_URL: url } });
    expect(none.code).toBe(6);
    expect(none.stderr).toContain('WARREN_ADMIN_TOKEN');

    const closed = http.createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const port = (closed.address() as AddressInfo).port;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    const unreachable = await warren(['jobs', '--json'], { WARREN_ADMIN_URL: `http://127.0.0.1:${port}/admin` });
    expect(unreachable.code).toBe(5);
    expect(JSON.parse(unreachable.stderr).error).toMatchObject({ code: 'ERR_UNREACHABLE', exitCode: 5 });
    for (const result of [missing, wrong, none, unreachable]) expect(result.stdout + result.stderr).not.toContain(TOKEN);
  });

  it('--url wins over WARREN_ADMIN_URL, and a URL with credentials is a usage error that does not echo them', async () => {
    const flag = await warren(['jobs', '--url', url, '--json'], { WARREN_ADMIN_URL: 'http://127.0.0.1:9/nowhere' });
    expect(flag.code, flag.stderr).toBe(0);
    const withPassword = await warren(['jobs', '--url', 'http://ops:url-secret-42@127.0.0.1:9/admin']);
    expect(withPassword.code).toBe(2);
    expect(withPassword.stderr).not.toContain('url-secret-42');
  });

  it('migrate still needs DATABASE_URL', async () => {
    const run = await warren(['migrate']);
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('`warren migrate` needs DATABASE_URL');
  });
});
