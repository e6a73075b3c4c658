/**
 * The newcomer check: what a user gets from the published package, next to zod 3 and pino.
 *
 *   1. build and `npm pack` the package;
 *   2. install the tarball into a scratch app under os.tmpdir() with pino, zod 3 and pg
 *      (`npm install --offline` from the npm cache, then `--prefer-offline`; when neither
 *      works, the tarball is unpacked and the repository's installed copies are linked);
 *   3. type-check a TypeScript file against the installed types: a zod 3 schema types the
 *      handler's params;
 *   4. run a plain ESM app on the real PostgreSQL and RabbitMQ: scheduler + worker with a
 *      pino logger writing JSON lines to a file, `ready({ timeout })`, a run-now, a zod 3
 *      refusal naming `params.name`;
 *   5. read the pino line of the handler and check its `job_id`, `run_id`, `scope`,
 *      `trigger_source` and `attempt`.
 *
 * Run: `npm run newcomer-check` (or `npx tsx scripts/newcomer-check.ts`). Uses
 * WARREN_TEST_DATABASE_URL / WARREN_TEST_AMQP_URL like the tests; `--no-build` reuses dist/,
 * `KEEP=1` keeps the scratch directory. Exits non-zero on any failure.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { AMQP_URL, DATABASE_URL, uniqueToken } from '../test/helpers/env.js';
import { cleanupScope } from '../test/helpers/amqp.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const repoModules = join(root, 'node_modules');
const step = (what: string) => console.log(`newcomer-check: ${what}`);

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  return execFileSync(command, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 * 1024 * 1024 });
}

function link(target: string, at: string): void {
  if (existsSync(at)) return;
  mkdirSync(dirname(at), { recursive: true });
  symlinkSync(target, at, 'dir');
}

/** npm from the cache; when the cache lacks something, the repository's installed copies. */
function install(app: string, tarball: string): string {
  const zod3 = JSON.parse(readFileSync(join(repoModules, 'zod3', 'package.json'), 'utf8')).version as string;
  const pino = JSON.parse(readFileSync(join(repoModules, 'pino', 'package.json'), 'utf8')).version as string;
  const pgVersion = JSON.parse(readFileSync(join(repoModules, 'pg', 'package.json'), 'utf8')).version as string;
  const specs = [tarball, `zod@${zod3}`, `pino@${pino}`, `pg@${pgVersion}`];
  for (const mode of ['--offline', '--prefer-offline']) {
    try {
      run('npm', ['install', mode, '--no-audit', '--no-fund', '--ignore-scripts', ...specs], app);
      return `npm install ${mode}`;
    } catch (error) {
      step(
        `npm install ${mode} failed (${
          String((error as { stderr?: string }).stderr ?? error)
            .split('\n')
            .find((l) => l.includes('ERR')) ?? 'see npm log'
        })`,
      );
    }
  }
  // Unpack the tarball as npm would, and give warren its own dependencies (zod 4 among
  // them) under its own node_modules, so the app's zod 3 cannot shadow them.
  const warren = join(app, 'node_modules', 'warren');
  mkdirSync(warren, { recursive: true });
  run('tar', ['-xzf', tarball, '-C', warren, '--strip-components=1'], app);
  const manifest = JSON.parse(readFileSync(join(warren, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
  for (const dep of Object.keys(manifest.dependencies)) link(join(repoModules, dep), join(warren, 'node_modules', dep));
  link(join(repoModules, 'zod3'), join(app, 'node_modules', 'zod'));
  link(join(repoModules, 'pino'), join(app, 'node_modules', 'pino'));
  link(join(repoModules, 'pg'), join(app, 'node_modules', 'pg'));
  return "unpacked tarball + links to the repository's pino, zod 3 and pg";
}

const TYPES_CHECK = `import { z } from 'zod';
import { defineJob, type ParamsOf } from 'warren';

const job = defineJob({ id: 'typed', params: z.object({ word: z.string().transform((s) => s.length) }) });
type Params = ParamsOf<typeof job>;
export const length: number = ({ word: 3 } satisfies Params).word;
// @ts-expect-error a zod 3 transform makes \`word\` a number
export const wrong: Params = { word: 'text' };
`;

const APP = `import pg from 'pg';
import pino from 'pino';
import { z } from 'zod';
import { createScheduler, createWorker, defineJob, isWarrenError, migrate } from 'warren';

const { DATABASE_URL, AMQP_URL, SCHEMA, SCOPE, LOG_FILE } = process.env;
const logger = pino(pino.destination({ dest: LOG_FILE, sync: true }));
const hello = defineJob({ id: 'hello', params: z.object({ name: z.string() }), defaultParams: { name: 'newcomer' } });

const pool = new pg.Pool({ connectionString: DATABASE_URL });
await migrate(pool, { schema: SCHEMA });
let handled;
const done = new Promise((resolve) => (handled = resolve));
const scheduler = createScheduler({ pool, schema: SCHEMA, amqpUrl: AMQP_URL, scope: SCOPE, jobs: [hello], logger });
const worker = createWorker({ pool, schema: SCHEMA, amqpUrl: AMQP_URL, scope: SCOPE, logger }).handle(hello, async ({ params, log }) => {
  log.info('hello from the newcomer app', { name: params.name });
  handled(params.name);
});
await scheduler.start();
await worker.start();
await Promise.all([scheduler.ready({ timeout: '30s' }), worker.ready({ timeout: '30s' })]);
const refused = await scheduler.runNow('hello', { params: { name: 5 } }).catch((e) => e);
if (!isWarrenError(refused) || refused.field !== 'params.name') throw new Error('zod 3 did not refuse params.name: ' + refused);
const run = await scheduler.runNow('hello', { params: { name: 'zod 3' } });
const name = await Promise.race([done, new Promise((_, reject) => setTimeout(() => reject(new Error('the run did not execute within 30 s')), 30_000))]);
await worker.close();
await scheduler.close();
await pool.end();
console.log(JSON.stringify({ runId: run.runId, name }));
`;

async function main(): Promise<void> {
  const build = !process.argv.includes('--no-build');
  if (build) {
    step('building (npm run build)');
    run('npm', ['run', 'build'], root);
  }
  const app = mkdtempSync(join(tmpdir(), 'warren-newcomer-'));
  const schema = `newcomer_${uniqueToken('n')}`;
  const scope = uniqueToken('newcomer').replace(/_/g, '-');
  try {
    step(`packing into ${app}`);
    const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', app], root)) as Array<{
      filename: string;
      files: Array<{ path: string }>;
    }>;
    const tarball = join(app, packed[0]!.filename);
    const shipped = new Set(packed[0]!.files.map((f) => f.path));
    for (const must of ['dist/index.js', 'dist/index.d.ts', 'dist/http.js', 'docs/operations.md', 'docs/adapters.md', 'README.md']) {
      if (!shipped.has(must)) throw new Error(`the package lacks ${must}`);
    }
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'newcomer-app', private: true, type: 'module' }, null, 2));
    step(`installed with ${install(app, tarball)}`);
    link(join(repoModules, '@types', 'node'), join(app, 'node_modules', '@types', 'node'));

    step('type-checking a zod 3 job against the installed types');
    writeFileSync(join(app, 'check.ts'), TYPES_CHECK);
    writeFileSync(
      join(app, 'tsconfig.json'),
      JSON.stringify({
        compilerOptions: {
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          target: 'ES2022',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        files: ['check.ts'],
      }),
    );
    run(process.execPath, [join(repoModules, 'typescript', 'bin', 'tsc'), '-p', join(app, 'tsconfig.json')], app);

    step(`running the app on ${DATABASE_URL.replace(/\/\/[^@]*@/, '//…@')} and ${AMQP_URL.replace(/\/\/[^@]*@/, '//…@')}`);
    writeFileSync(join(app, 'app.mjs'), APP);
    const logFile = join(app, 'app.log');
    const out = run(process.execPath, ['app.mjs'], app, {
      ...process.env,
      DATABASE_URL,
      AMQP_URL,
      SCHEMA: schema,
      SCOPE: scope,
      LOG_FILE: logFile,
    });
    const result = JSON.parse(out.trim().split('\n').pop()!) as { runId: string; name: string };
    if (result.name !== 'zod 3') throw new Error(`the handler got ${JSON.stringify(result.name)}`);

    const lines = readFileSync(logFile, 'utf8')
      .split('\n')
      .filter((l) => l.trim() !== '')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    const line = lines.find((l) => l.msg === 'hello from the newcomer app');
    if (line === undefined) throw new Error(`no pino line from the handler in ${lines.length} line(s)`);
    const expected = { job_id: 'hello', run_id: result.runId, scope, trigger_source: 'manual', attempt: 1, name: 'zod 3' };
    for (const [key, value] of Object.entries(expected)) {
      if (line[key] !== value)
        throw new Error(
          `the pino line has ${key}=${JSON.stringify(line[key])}, expected ${JSON.stringify(value)}: ${JSON.stringify(line)}`,
        );
    }
    step(`ok: pino line ${JSON.stringify(line)}`);
  } finally {
    const admin = new pg.Client({ connectionString: DATABASE_URL });
    await admin
      .connect()
      .then(() => admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`))
      .catch(() => {});
    await admin.end().catch(() => {});
    await cleanupScope(scope).catch(() => {});
    if (process.env.KEEP === '1') step(`kept ${app}`);
    else rmSync(app, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(`newcomer-check: FAILED: ${(error as { stderr?: string }).stderr ?? ''}${(error as Error)?.stack ?? String(error)}`);
  process.exit(1);
});
