/**
 * The `warren` bin's contract for scripts, without a database: usage errors, `--help` and
 * `--version`, the exit code of an unreachable database, and secrets that never print.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { DATABASE_URL } from '../helpers/env.js';
import { ROOT, ensureCliBuilt, runCli } from './run-cli.js';

const COMMANDS = ['migrate', 'jobs', 'job', 'pause', 'resume', 'run', 'runs', 'upsert', 'remove', 'audit'];
const TOKEN = 'tok-7f3a9c1e5b2d4a60';

beforeAll(async () => {
  await ensureCliBuilt();
});

describe('warren --help / --version', () => {
  it('prints the package version', async () => {
    const { version } = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { version: string };
    const run = await runCli(['--version']);
    expect(run).toEqual({ code: 0, stdout: `${version}\n`, stderr: '' });
  });

  // With secrets in the environment: no help shows them, nor offers a flag to pass one.
  it('has help for the program and every command (exit 0), with no token flag and no secret in it', async () => {
    const env = {
      WARREN_ADMIN_TOKEN: TOKEN,
      WARREN_ADMIN_URL: 'http://127.0.0.1:9/',
      DATABASE_URL: 'postgres://warren:pg-secret-91@127.0.0.1:1/app',
    };
    const top = await runCli(['--help'], { env });
    expect(top.code).toBe(0);
    for (const name of COMMANDS) expect(top.stdout).toMatch(new RegExp(`^  ${name}\\b`, 'm'));
    expect(top.stdout).toContain('Exit codes: 0 ok, 1 error, 2 usage, 3 not found, 4 invalid input, 5 cannot connect');
    expect(top.stdout).toContain('WARREN_ADMIN_TOKEN');
    const helps = await Promise.all(COMMANDS.map((name) => runCli([name, '--help'], { env })));
    helps.forEach((help, i) => {
      expect(help.code, COMMANDS[i]).toBe(0);
      expect(help.stdout, COMMANDS[i]).toContain(`Usage: warren ${COMMANDS[i]}`);
      expect(help.stdout, COMMANDS[i]).toContain('--scope <scope>');
    });
    for (const help of [top, ...helps]) expect(help.stdout + help.stderr).not.toMatch(/--token|tok-7f3a|pg-secret-91/);
    const viaHelp = await runCli(['help', 'runs']);
    expect(viaHelp.stdout).toContain('--status <status>');
  });

  it('shows help on stderr and exits 2 when no command is given', async () => {
    const run = await runCli([]);
    expect(run.code).toBe(2);
    expect(run.stdout).toBe('');
    expect(run.stderr).toContain('Usage: warren [options] [command]');
  });
});

describe('secrets come from the environment only', () => {
  it('refuses a --token flag without echoing its value', async () => {
    const env = { WARREN_ADMIN_TOKEN: TOKEN, DATABASE_URL };
    const flag = await runCli(['jobs', '--scope', 'real', `--token=${TOKEN}`], { env });
    expect(flag.code).toBe(2);
    expect(flag.stderr).toBe("warren: unknown option '--token=***'\n");
    const spaced = await runCli(['jobs', '--scope', 'real', '--token', TOKEN], { env });
    expect(spaced.code).toBe(2);
    expect(spaced.stderr).not.toContain(TOKEN);
  });

  it('never prints the database password, and exits 5 when the database cannot be reached', async () => {
    const env = { DATABASE_URL: 'postgres://postgres:pg-secret-91@127.0.0.1:1/test' };
    const jobs = await runCli(['jobs', '--scope', 'real'], { env });
    expect(jobs.code).toBe(5);
    expect(jobs.stderr).toMatch(/^warren: cannot connect to postgres:\/\/postgres@127\.0\.0\.1:1\/test: .*ECONNREFUSED/);
    const migrate = await runCli(['migrate', '--json'], { env });
    expect(migrate.code).toBe(5);
    expect(JSON.parse(migrate.stderr).error).toMatchObject({ code: 'ERR_UNREACHABLE', exitCode: 5 });
    for (const run of [jobs, migrate]) expect(run.stdout + run.stderr).not.toContain('pg-secret-91');
  });

  it('exits 5 for a database that does not exist', async () => {
    const url = new URL(DATABASE_URL);
    url.pathname = '/warren_cli_no_such_database';
    const run = await runCli(['jobs', '--scope', 'real'], { env: { DATABASE_URL: url.toString() } });
    expect(run.code).toBe(5);
    expect(run.stderr).toContain('database "warren_cli_no_such_database" does not exist');
  });
});

describe('usage errors exit 2', () => {
  const env = { DATABASE_URL };

  it('an unknown command, with a suggestion', async () => {
    const run = await runCli(['jbos'], { env });
    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/^warren: unknown command 'jbos'\n\(Did you mean jobs\?\)\n$/);
    const asJson = await runCli(['jbos', '--json'], { env });
    expect(JSON.parse(asJson.stderr)).toMatchObject({ error: { code: 'ERR_USAGE', exitCode: 2 } });
  });

  it('a missing --scope, a bad --scope, --schema or --tz, a missing argument, an unknown option', async () => {
    const cases: Array<[string[], string]> = [
      [['jobs'], 'Missing `--scope` (or WARREN_SCOPE)'],
      [['jobs', '--scope', 'Real Scope'], 'Invalid `--scope`'],
      [['jobs', '--scope', 'real', '--schema', 'Bad-Schema'], 'Invalid flag `schema`'],
      [['jobs', '--scope', 'real', '--tz', 'Mars/Olympus'], 'Invalid `--tz`'],
      [['job', '--scope', 'real'], "missing required argument 'id'"],
      [['jobs', '--scope', 'real', '--limit', '3'], "unknown option '--limit'"],
    ];
    for (const [args, message] of cases) {
      const run = await runCli(args, { env });
      expect(run.code, args.join(' ')).toBe(2);
      expect(run.stderr, args.join(' ')).toContain(message);
    }
  });

  it('no connection configured', async () => {
    const run = await runCli(['jobs', '--scope', 'real']);
    expect(run.code).toBe(2);
    expect(run.stderr).toBe('warren: `warren jobs` needs DATABASE_URL (or WARREN_DATABASE_URL) in the environment\n');
  });

  it('reads the scope and time zone from the environment', async () => {
    const run = await runCli(['jobs', '--tz', 'Nowhere/Special'], { env: { ...env, WARREN_SCOPE: 'real' } });
    // Past the scope check: the time zone is the complaint.
    expect(run.code).toBe(2);
    expect(run.stderr).toContain('Invalid `--tz`');
  });
});
