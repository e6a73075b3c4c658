/**
 * The seed's §10 job-registration cheat sheet as one command: the §10 bodies of a scope
 * (examples/jobs/seed-real.json, seed-mock.json, verbatim) sent to that scope's scheduler
 * API. Run it again at any time: an upsert replaces the job as written.
 *
 *   WARREN_ADMIN_TOKEN=… npm run fleet:register -- --scope mock
 *   WARREN_ADMIN_TOKEN=… npm run fleet:register -- --scope mock --every 20s   # demo periods
 *
 * Each body is the seed's `POST /jobs` body, so curl does the same, and so does the CLI:
 * `WARREN_ADMIN_URL=http://127.0.0.1:9095 warren upsert --file examples/jobs/seed-mock.json`
 * (this script also moves the queues to a prefixed scope, and shortens periods).
 */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createAdminClient } from 'warren/http';
import { ConfigError, adminToken, basePort, parseProfile, scopeName } from './lib/config.js';
import { exitOnConfigError } from './lib/service.js';

interface SeedBody {
  job_id: string;
  queue: string;
  [key: string]: unknown;
}

/** The files name their scope in `queue` (`mock.jobs.scout`); a prefixed scope (FLEET_SCOPE_PREFIX) gets its own queues. */
export function inScope(body: SeedBody, profile: string, scope: string): SeedBody {
  const prefix = `${profile}.jobs.`;
  if (!body.queue.startsWith(prefix))
    throw new ConfigError(`${body.job_id}: expected queue "${prefix}…" in the ${profile} file, got ${JSON.stringify(body.queue)}.`);
  return { ...body, queue: `${scope}.jobs.${body.queue.slice(prefix.length)}` };
}

/** `--every 20s`, `2m` or `30` (seconds). */
function demoSeconds(text: string): number {
  const match = /^(\d+)(s|m)?$/.exec(text);
  if (match === null || Number(match[1]) === 0)
    throw new ConfigError(`--every: expected a period such as 20s, 2m or 30 (seconds), got ${JSON.stringify(text)}.`);
  return Number(match[1]) * (match[2] === 'm' ? 60 : 1);
}

const isStop = (body: SeedBody) => (body.default_params as { action?: unknown } | undefined)?.action === 'stop';

async function main(): Promise<void> {
  const env = process.env;
  const { values } = parseArgs({
    options: { scope: { type: 'string' }, every: { type: 'string' }, file: { type: 'string' } },
    strict: true,
  });
  const profile = parseProfile(values.scope ?? env.FLEET_SCOPE);
  const scope = scopeName(profile, env);
  const url = env.SCHEDULER_URL ?? `http://127.0.0.1:${basePort(profile, env)}`;
  const file = values.file ?? new URL(`../jobs/seed-${profile}.json`, import.meta.url);
  const bodies = JSON.parse(readFileSync(file, 'utf8')) as SeedBody[];
  const control = createAdminClient({ url, token: adminToken(env) });

  const every = values.every === undefined ? undefined : demoSeconds(values.every);
  for (const body of bodies.map((b) => inScope(b, profile, scope))) {
    let job = await control.upsert(body, { actor: 'register-jobs' });
    // Demo periods: the same jobs, each run `every` apart instead of on the seed's crons;
    // a stop job twice as far apart, so the price monitor is seen running between them.
    if (every !== undefined) job = await control.update(job.id, { every: isStop(body) ? 2 * every : every }, { actor: 'register-jobs' });
    const schedule =
      job.schedule === null
        ? 'no schedule'
        : job.schedule.kind === 'cron'
          ? `cron ${job.schedule.cron} (${job.schedule.tz})`
          : `every ${job.schedule.everyMs / 1000}s`;
    process.stdout.write(
      `registered ${job.id} on ${scope}.jobs.${job.queue}: ${schedule}, ${job.reschedule} mode, next ${job.nextDueAt?.toISOString() ?? '-'}\n`,
    );
  }
  process.stdout.write(`${bodies.length} jobs registered in scope ${scope} at ${url}\n`);
}

main().catch((error: unknown) => {
  if (error instanceof ConfigError) exitOnConfigError(error);
  process.stderr.write(`register-jobs failed: ${(error as Error)?.message ?? String(error)}\n`);
  process.exit(1);
});
