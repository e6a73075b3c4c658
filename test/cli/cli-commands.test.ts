/**
 * The `warren` bin against the real PostgreSQL (database mode): this file's own schema,
 * the seed's scopes `real` and `mock` inside it (no broker: the CLI never needs one).
 */
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_URL } from '../helpers/env.js';
import { createTestDatabase, type TestDatabase } from '../helpers/pg.js';
import { ROOT, ensureCliBuilt, json, runCli, storedJobIds } from './run-cli.js';

const SEED_REAL = join(ROOT, 'examples/jobs/seed-real.json');
const SEED_MOCK = join(ROOT, 'examples/jobs/seed-mock.json');
const seedReal = JSON.parse(readFileSync(SEED_REAL, 'utf8')) as Array<Record<string, unknown>>;

let db: TestDatabase;
let dir: string;
let env: Record<string, string>;
const warren = (args: string[], stdin?: string) => runCli(args, { env, ...(stdin !== undefined ? { stdin } : {}) });

function file(name: string, content: unknown): string {
  const path = join(dir, name);
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content));
  return path;
}

const jobIds = (scope: string) => storedJobIds(db, scope);

beforeAll(async () => {
  await ensureCliBuilt();
  db = await createTestDatabase('cli');
  dir = mkdtempSync(join(tmpdir(), 'warren-cli-'));
  env = { DATABASE_URL, WARREN_SCHEMA: db.schema };
});

afterAll(async () => {
  rmSync(dir, { recursive: true, force: true });
  await db?.drop();
});

describe('warren migrate', () => {
  it('creates the schema, then reports it up to date', async () => {
    const first = await warren(['migrate', '--json']);
    expect(first.code, first.stderr).toBe(0);
    const result = json<{ schema: string; applied: number[]; current: number }>(first);
    expect(result.schema).toBe(db.schema);
    expect(result.applied.length).toBeGreaterThan(0);
    expect(result.current).toBe(result.applied[result.applied.length - 1]);

    const again = await warren(['migrate']);
    expect(again.code).toBe(0);
    expect(again.stdout).toContain(`schema ${db.schema} is up to date (version ${result.current})`);
  });
});

describe('warren upsert', () => {
  it("registers the seed's real jobs from one file (the whole cheat sheet in one command)", async () => {
    const run = await warren(['upsert', '--scope', 'real', '--file', SEED_REAL]);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout.trim().split('\n')).toHaveLength(seedReal.length);
    expect(run.stdout).toContain('upserted buy-scanner: active, cron */5 * * * *, queue mode, next ');
    expect(await jobIds('real')).toEqual(seedReal.map((body) => body.job_id).sort());

    // Idempotent, and --json answers the array's shape with the control API's details.
    const again = await warren(['upsert', '--scope', 'real', '--file', SEED_REAL, '--json']);
    expect(again.code, again.stderr).toBe(0);
    const details = json<Array<{ id: string; queue: string; job: { scope: string; params: Record<string, unknown> } }>>(again);
    expect(details.map((d) => d.id)).toEqual(seedReal.map((body) => body.job_id));
    const start = details.find((d) => d.id === 'price-monitor-start')!;
    expect(start.queue).toBe('price-monitor');
    expect(start.job.scope).toBe('real');
    expect(start.job.params).toEqual({ action: 'start', interval_seconds: 86400 });
  });

  it('reads one body (not an array) from stdin and answers one object', async () => {
    const body = { ...seedReal[0], job_id: 'stdin-job', description: 'from stdin' };
    const run = await warren(['upsert', '--scope', 'real', '--file', '-', '--json'], JSON.stringify(body));
    expect(run.code, run.stderr).toBe(0);
    expect(json(run)).toMatchObject({ id: 'stdin-job', description: 'from stdin', paused: false });
  });

  it('refuses a file with a body for another scope (exit 4) and writes none of it', async () => {
    const mixed = file('mixed.json', [{ ...seedReal[0], job_id: 'would-be-written' }, JSON.parse(readFileSync(SEED_MOCK, 'utf8'))[0]]);
    const run = await warren(['upsert', '--scope', 'real', '--file', mixed]);
    expect(run.code).toBe(4);
    expect(run.stderr).toMatch(
      /^warren: \[1\] Invalid `scope` of job "mock-buy-scanner": this command steers scope "real", the job names scope "mock"/,
    );
    expect(await jobIds('real')).not.toContain('would-be-written');
    expect(await jobIds('mock')).toEqual([]);

    // The mock file as a whole, into the real scope: the same.
    const mock = await warren(['upsert', '--scope', 'real', '--file', SEED_MOCK, '--json']);
    expect(mock.code).toBe(4);
    expect(JSON.parse(mock.stderr)).toMatchObject({ error: { code: 'ERR_INVALID_ARGUMENT', field: 'scope', exitCode: 4 } });
    expect(await jobIds('mock')).toEqual([]);
  });

  it('refuses an invalid body (exit 4, naming the field) before writing the valid ones', async () => {
    const bad = file('bad-cron.json', [
      { ...seedReal[0], job_id: 'first-ok' },
      { ...seedReal[4], job_id: 'bad', cron_expr: '61 * * * *', interval_seconds: undefined },
    ]);
    const run = await warren(['upsert', '--scope', 'real', '--file', bad, '--json']);
    expect(run.code).toBe(4);
    const { error } = JSON.parse(run.stderr) as { error: { code: string; message: string } };
    expect(error.code).toBe('ERR_INVALID_JOB');
    expect(error.message).toContain('cron_expr');
    expect(await jobIds('real')).not.toContain('first-ok');
  });

  it('refuses a job id given twice in one file (exit 4)', async () => {
    const twice = file('twice.json', [seedReal[0], seedReal[0]]);
    const run = await warren(['upsert', '--scope', 'real', '--file', twice]);
    expect(run.code).toBe(4);
    expect(run.stderr).toContain('Job "buy-scanner" is given twice (also at [0])');
  });

  it('refuses a file that is not JSON (exit 4), an empty array (exit 4), a missing file or no --file (exit 2)', async () => {
    const notJson = await warren(['upsert', '--scope', 'real', '--file', file('broken.json', '{"job_id": "x",')]);
    expect(notJson.code).toBe(4);
    expect(notJson.stderr).toMatch(/^warren: Invalid `--file` .*broken\.json: not JSON/);
    const empty = await warren(['upsert', '--scope', 'real', '--file', file('empty.json', [])]);
    expect(empty.code).toBe(4);
    const missing = await warren(['upsert', '--scope', 'real', '--file', join(dir, 'no-such.json')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('Cannot read `--file`');
    const none = await warren(['upsert', '--scope', 'real']);
    expect(none.code).toBe(2);
    expect(none.stderr).toContain('Missing `--file <path>`');
  });
});

describe('warren jobs / job', () => {
  it('lists the jobs as a table, or as JSON', async () => {
    const table = await warren(['jobs', '--scope', 'real']);
    expect(table.code, table.stderr).toBe(0);
    const [header, ...rows] = table.stdout.trim().split('\n');
    expect(header).toMatch(/^ID\s+STATE\s+SCHEDULE\s+NEXT DUE\s+LAST RUN\s+RUNNING\s+FAILURES$/);
    expect(
      rows.some((row) => /^price-monitor-start\s+active\s+cron 0 9 \* \* 1-5, queue mode\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ/.test(row)),
    ).toBe(true);

    const list = json<Array<{ id: string; enabled: boolean; nextDueAt: string }>>(await warren(['jobs', '--scope', 'real', '--json']));
    expect(list.map((job) => job.id)).toEqual(expect.arrayContaining(seedReal.map((body) => body.job_id as string)));
    expect(list.every((job) => job.enabled && !Number.isNaN(Date.parse(job.nextDueAt)))).toBe(true);

    const empty = await warren(['jobs', '--scope', 'nobody']);
    expect(empty.stdout.trim()).toBe('(none)');
  });

  it('shows one job, with times in --tz', async () => {
    const shown = await warren(['job', 'scout-daily', '--scope', 'real', '--tz', 'Asia/Seoul']);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^description: +Scout daily run$/m);
    expect(shown.stdout).toMatch(/^schedule: +cron 0 8 \* \* 1-5, queue mode$/m);
    expect(shown.stdout).toMatch(/^next due: +\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\+09:00$/m);
    const details = json<{ id: string; job: { queue: string } }>(await warren(['job', 'scout-daily', '--scope', 'real', '--json']));
    expect(details).toMatchObject({ id: 'scout-daily', job: { queue: 'scout' } });
  });

  it('exits 3 for an unknown job, with the control API code in --json', async () => {
    const plain = await warren(['job', 'nope', '--scope', 'real']);
    expect(plain.code).toBe(3);
    expect(plain.stderr).toBe('warren: No job "nope" in scope "real"\n');
    const asJson = await warren(['job', 'nope', '--scope', 'real', '--json']);
    expect(asJson.code).toBe(3);
    expect(JSON.parse(asJson.stderr)).toEqual({
      error: { code: 'ERR_JOB_NOT_FOUND', message: 'No job "nope" in scope "real"', field: 'id', exitCode: 3 },
    });
    expect(asJson.stdout).toBe('');
  });
});

describe('warren pause / resume / run / runs / audit / remove', () => {
  it('pauses with a note (shown escaped in a table, kept in JSON) and resumes', async () => {
    const note = 'market closed \u001b[31muntil Monday';
    const paused = await warren(['pause', 'buy-scanner', '--scope', 'real', '--note', note]);
    expect(paused.code, paused.stderr).toBe(0);
    expect(paused.stdout).toBe('paused buy-scanner: paused: market closed \\x1b[31muntil Monday, cron */5 * * * *, queue mode\n');
    const table = await warren(['jobs', '--scope', 'real']);
    expect(table.stdout).not.toContain('\u001b');
    expect(table.stdout).toMatch(/^buy-scanner +paused: market closed \\x1b\[31muntil Monday +cron \*\/5 \* \* \* \*, queue mode +- /m);
    expect(json(await warren(['job', 'buy-scanner', '--scope', 'real', '--json']))).toMatchObject({
      paused: true,
      enabled: false,
      pauseNote: note,
    });

    const resumed = json(await warren(['resume', 'buy-scanner', '--scope', 'real', '--json']));
    expect(resumed).toMatchObject({ id: 'buy-scanner', paused: false, pauseNote: null });
  });

  it('runs a job now with params and a delay, and lists its runs', async () => {
    const created = await warren([
      'run',
      'price-monitor-start',
      '--scope',
      'real',
      '--params',
      '{"symbol":"005930"}',
      '--delay',
      '30s',
      '--json',
    ]);
    expect(created.code, created.stderr).toBe(0);
    const run = json<{
      runId: string;
      jobId: string;
      triggerSource: string;
      status: string;
      params: Record<string, unknown>;
      scheduledFor: string;
      availableAt: string;
    }>(created);
    expect(run).toMatchObject({
      jobId: 'price-monitor-start',
      triggerSource: 'manual',
      status: 'pending',
      params: { action: 'start', interval_seconds: 86400, symbol: '005930' },
    });
    expect(Date.parse(run.availableAt) - Date.parse(run.scheduledFor)).toBe(30_000);

    const human = await warren(['run', 'price-monitor-start', '--scope', 'real']);
    expect(human.stdout).toMatch(/^queued run [0-9a-f-]{36} of price-monitor-start, not before \d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ\n$/);

    const runs = json<Array<{ runId: string; triggerSource: string }>>(
      await warren(['runs', 'price-monitor-start', '--scope', 'real', '--status', 'pending', '--json']),
    );
    expect(runs.map((r) => r.runId)).toContain(run.runId);
    expect(runs.filter((r) => r.triggerSource === 'manual')).toHaveLength(2);
    expect(json<unknown[]>(await warren(['runs', 'price-monitor-start', '--scope', 'real', '--limit', '1', '--json']))).toHaveLength(1);
    expect(
      json<unknown[]>(await warren(['runs', 'price-monitor-start', '--scope', 'real', '--status', 'succeeded,dead', '--json'])),
    ).toEqual([]);

    const table = await warren(['runs', 'price-monitor-start', '--scope', 'real']);
    expect(table.stdout).toMatch(/^RUN\s+SCHEDULED FOR\s+TRIGGER\s+STATUS\s+ATTEMPT\s+FINISHED\s+ERROR\n/);
    expect(table.stdout).toContain(run.runId);
  });

  it('exits 4 for bad run input and 2 for bad flags', async () => {
    const notJson = await warren(['run', 'price-monitor-start', '--scope', 'real', '--params', '{symbol:1}']);
    expect(notJson.code).toBe(4);
    expect(notJson.stderr).toContain('Invalid `--params`: expected a JSON object');
    const array = await warren(['run', 'price-monitor-start', '--scope', 'real', '--params', '[1]']);
    expect(array.code).toBe(4);
    const delay = await warren(['run', 'price-monitor-start', '--scope', 'real', '--delay', 'soon', '--json']);
    expect(delay.code).toBe(4);
    expect(JSON.parse(delay.stderr).error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', field: 'delay' });
    const limitRange = await warren(['runs', 'price-monitor-start', '--scope', 'real', '--limit', '0']);
    expect(limitRange.code).toBe(4);
    const limitWord = await warren(['runs', 'price-monitor-start', '--scope', 'real', '--limit', 'ten']);
    expect(limitWord.code).toBe(2);
    const status = await warren(['runs', 'price-monitor-start', '--scope', 'real', '--status', 'done']);
    expect(status.code).toBe(2);
    expect(status.stderr).toContain('Invalid `--status`: expected one of pending, running');
    const unknown = await warren(['run', 'nope', '--scope', 'real']);
    expect(unknown.code).toBe(3);
  });

  it("records every action in the audit trail with the CLI's actor", async () => {
    const entries = json<Array<{ jobId: string; action: string; actor: string; details: Record<string, unknown> }>>(
      await warren(['audit', '--scope', 'real', '--job', 'buy-scanner', '--json']),
    );
    expect(entries.map((e) => e.action)).toEqual(['resume', 'pause', 'upsert', 'create']);
    expect(entries.every((e) => e.jobId === 'buy-scanner' && e.actor.startsWith('cli:'))).toBe(true);
    expect(entries[1]!.details).toEqual({ note: 'market closed \u001b[31muntil Monday' });

    const limited = json<unknown[]>(await warren(['audit', '--scope', 'real', '--limit', '2', '--json']));
    expect(limited).toHaveLength(2);
    const table = await warren(['audit', '--scope', 'real', '--job', 'buy-scanner']);
    expect(table.stdout).toMatch(/^AT\s+JOB\s+ACTION\s+ACTOR\s+DETAILS\n/);
    expect(table.stdout).toMatch(/ buy-scanner +pause +cli:\S+ +\{"note":"market closed \\u001b\[31muntil Monday"\}/);
  });

  it('changes a job with --patch, and refuses a bad patch (4) or none (2)', async () => {
    const updated = await warren([
      'update',
      'news-crawler',
      '--scope',
      'real',
      '--patch',
      '{"schedule":{"cron":"*/15 * * * *"}}',
      '--json',
    ]);
    expect(updated.code, updated.stderr).toBe(0);
    const details = json<{ job: { schedule: { kind: string; cron: string } }; overridden: string[] }>(updated);
    expect(details.job.schedule).toMatchObject({ kind: 'cron', cron: '*/15 * * * *' });
    expect(details.overridden).toContain('schedule');
    const human = await warren(['update', 'news-crawler', '--scope', 'real', '--patch', '{"description":"every quarter hour"}']);
    expect(human.stdout).toMatch(/^updated news-crawler: /);

    const badKey = await warren(['update', 'news-crawler', '--scope', 'real', '--patch', '{"schedule":{"cron":"not a cron"}}', '--json']);
    expect(badKey.code).toBe(4);
    expect(JSON.parse(badKey.stderr).error).toMatchObject({ code: expect.stringMatching(/^ERR_INVALID/) });
    const notObject = await warren(['update', 'news-crawler', '--scope', 'real', '--patch', '"x"']);
    expect(notObject.code).toBe(4);
    expect(notObject.stderr).toContain('Invalid `--patch`: expected a JSON object');
    const missing = await warren(['update', 'news-crawler', '--scope', 'real']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('Missing `--patch <json>`');
    expect((await warren(['update', 'nope', '--scope', 'real', '--patch', '{}'])).code).toBe(3);

    const audit = json<Array<{ action: string; actor: string }>>(
      await warren(['audit', '--scope', 'real', '--job', 'news-crawler', '--json']),
    );
    expect(audit.slice(0, 2).map((e) => e.action)).toEqual(['update', 'update']);
  });

  it("backfills a window of a job's slots once (a second call creates none)", async () => {
    const window = ['--from', '2026-12-01T00:00:00Z', '--to', '2026-12-01T01:00:00Z'];
    const first = json<{ slots: number; inserted: Array<{ scheduledFor: string; triggerSource: string }> }>(
      await warren(['backfill', 'news-crawler', '--scope', 'real', ...window, '--json']),
    );
    // news-crawler is now */15: 00:00, 00:15, 00:30, 00:45, 01:00.
    expect(first.slots).toBe(5);
    expect(first.inserted.map((r) => r.scheduledFor)).toEqual([
      '2026-12-01T00:00:00.000Z',
      '2026-12-01T00:15:00.000Z',
      '2026-12-01T00:30:00.000Z',
      '2026-12-01T00:45:00.000Z',
      '2026-12-01T01:00:00.000Z',
    ]);
    expect(first.inserted.every((r) => r.triggerSource === 'backfill')).toBe(true);
    const again = await warren(['backfill', 'news-crawler', '--scope', 'real', ...window]);
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toBe('backfill: 5 slot(s) in the window, 0 run(s) created\n');

    const missing = await warren(['backfill', 'news-crawler', '--scope', 'real', '--from', '2026-12-01T00:00:00Z']);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('Missing `--from <time>` or `--to <time>`');
    const bad = await warren(['backfill', 'news-crawler', '--scope', 'real', '--from', 'yesterday', '--to', '2026-12-01T01:00:00Z']);
    expect(bad.code).toBe(4);
    expect((await warren(['backfill', 'nope', '--scope', 'real', ...window])).code).toBe(3);
  });

  it('removes a job (then it is not found)', async () => {
    const removed = await warren(['remove', 'stdin-job', '--scope', 'real', '--json']);
    expect(removed.code, removed.stderr).toBe(0);
    expect(json(removed)).toEqual({ id: 'stdin-job', removed: true });
    expect((await warren(['job', 'stdin-job', '--scope', 'real'])).code).toBe(3);
    expect((await warren(['remove', 'stdin-job', '--scope', 'real'])).code).toBe(3);
  });
});

describe('warren against a schema that was never migrated', () => {
  it('says which migrate command to run (exit 1)', async () => {
    const run = await runCli(['jobs', '--scope', 'real', '--schema', 'warren_cli_never_migrated'], { env: { DATABASE_URL } });
    expect(run.code).toBe(1);
    expect(run.stderr).toContain('run `warren migrate --schema warren_cli_never_migrated`');
  });
});
