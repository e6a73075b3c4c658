/**
 * Runs the BUILT `warren` bin (dist/cli.js) as a child process, as a user would. Builds
 * once when dist/cli.js is missing or older than the sources (CI builds before testing);
 * an exclusive lock file keeps parallel test files from building at the same time.
 */
import { execFile, execFileSync } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createHash } from 'node:crypto';
import type { TestDatabase } from '../helpers/pg.js';
import { waitFor } from '../helpers/wait.js';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLI = join(ROOT, 'dist', 'cli.js');

function newestSource(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSource(path) : statSync(path).mtimeMs);
  }
  return newest;
}

function isFresh(): boolean {
  return existsSync(CLI) && statSync(CLI).mtimeMs >= newestSource(join(ROOT, 'src'));
}

export async function ensureCliBuilt(): Promise<void> {
  if (isFresh()) return;
  const lock = join(tmpdir(), `warren-cli-build-${createHash('sha1').update(ROOT).digest('hex').slice(0, 12)}.lock`);
  let fd: number;
  try {
    fd = openSync(lock, 'wx');
  } catch {
    await waitFor(() => !existsSync(lock) && isFresh(), 'another test file to finish `npm run build`', {
      timeoutMs: 240_000,
      intervalMs: 200,
    });
    return;
  }
  try {
    execFileSync('npm', ['run', 'build'], { cwd: ROOT, stdio: 'pipe' });
  } finally {
    closeSync(fd);
    unlinkSync(lock);
  }
}

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** A clean environment: only what the test passes, plus PATH/HOME, so the host's own DATABASE_URL or WARREN_* cannot leak in. */
export function cliEnv(extra: Record<string, string | undefined>): Record<string, string> {
  const env: Record<string, string> = {};
  for (const key of ['PATH', 'HOME', 'USER', 'LANG']) if (process.env[key] !== undefined) env[key] = process.env[key]!;
  for (const [key, value] of Object.entries(extra)) if (value !== undefined) env[key] = value;
  return env;
}

export function runCli(
  args: readonly string[],
  options: { env?: Record<string, string | undefined>; stdin?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { cwd: ROOT, env: cliEnv(options.env ?? {}), timeout: 60_000 },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof (error as { code?: unknown }).code === 'number' ? (error as { code: number }).code : -1;
        if (code === -1) reject(error);
        else resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(options.stdin ?? '');
  });
}

/** Parses stdout as JSON (for `--json` runs), failing with the output when it is not. */
export function json<T = any>(result: CliResult): T {
  try {
    return JSON.parse(result.stdout) as T;
  } catch {
    throw new Error(`expected JSON on stdout (exit ${result.code}); stdout: ${result.stdout}; stderr: ${result.stderr}`);
  }
}

/** The job ids stored in a scope, read straight from the table (what a command really wrote). */
export async function storedJobIds(db: TestDatabase, scope: string): Promise<string[]> {
  const { rows } = await db.pool.query(`SELECT job_id FROM "${db.schema}".jobs WHERE scope = $1 ORDER BY job_id`, [scope]);
  return rows.map((row: { job_id: string }) => row.job_id);
}
