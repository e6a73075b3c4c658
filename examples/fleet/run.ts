/**
 * `npm run fleet -- --scope mock`: the seed's system as separate services, each its own
 * process: scheduler-service, buy-scanner, price-monitor, news-crawler, scout and (with a
 * bot token) telegram-bot. `--scope real --scope mock` runs both side by side on the same
 * database and broker; they never see each other's jobs or queues.
 *
 *   --scope real|mock   (repeatable) which scope(s) to run
 *   --register          register the seed's jobs (examples/jobs/seed-<scope>.json) once the API answers
 *   --every 20s         with --register: every job runs on this period instead (demos)
 *   --json              raw JSON log lines (the default when the output is not a terminal)
 *
 * Ctrl-C or SIGTERM stops every service gracefully; the launcher exits 0 when all did.
 * See examples/fleet/README.md.
 */
import { parseArgs } from 'node:util';
import { BACKEND_HELP, ConfigError, TOKEN_HELP, adminToken, basePort, parseProfile, scopeName, type Profile } from './lib/config.js';
import { jsonLine, prettyLine, startChild, type Child } from './lib/children.js';
import { exitOnConfigError } from './lib/service.js';

/** Each worker's /metrics port is its profile's base port plus its offset (the scheduler's is the base). */
const WORKERS = ['buy-scanner.ts', 'price-monitor.ts', 'news-crawler.ts', 'scout.ts'];

interface Plan {
  profiles: Profile[];
  register: boolean;
  every: string | undefined;
  json: boolean;
  token: string;
}

function plan(argv: string[], env: NodeJS.ProcessEnv): Plan {
  const { values } = parseArgs({
    args: argv,
    options: {
      scope: { type: 'string', multiple: true },
      register: { type: 'boolean', default: false },
      every: { type: 'string' },
      json: { type: 'boolean', default: false },
    },
    strict: true,
  });
  const given = (values.scope ?? []).flatMap((s) => s.split(','));
  const profiles = [...new Set(given.length > 0 ? given.map(parseProfile) : [parseProfile(undefined)])];
  const missing = (['DATABASE_URL', 'AMQP_URL'] as const).filter((name) => !env[name]).map((name) => `  ${name}: ${BACKEND_HELP[name]}`);
  if (!env.WARREN_ADMIN_TOKEN) missing.push(`  WARREN_ADMIN_TOKEN: ${TOKEN_HELP}`);
  if (missing.length > 0)
    throw new ConfigError(
      `The fleet runs on a real PostgreSQL and RabbitMQ. Set:\n${missing.join('\n')}\n(npm run demo needs none of them: one process, in memory.)`,
    );
  const every = values.every ?? env.FLEET_EVERY;
  if (every !== undefined && !values.register)
    throw new ConfigError('--every (FLEET_EVERY) shortens the jobs register-jobs writes: add --register.');
  return { profiles, register: values.register!, every, json: values.json! || !process.stdout.isTTY, token: adminToken(env) };
}

/** The bot token of a scope: TELEGRAM_BOT_TOKEN_MOCK / _REAL, or TELEGRAM_BOT_TOKEN when one scope runs. */
function botToken(profile: Profile, profiles: Profile[], env: NodeJS.ProcessEnv): string | undefined {
  return env[`TELEGRAM_BOT_TOKEN_${profile.toUpperCase()}`] || (profiles.length === 1 ? env.TELEGRAM_BOT_TOKEN || undefined : undefined);
}

/** The bot holds no database or broker credentials: it only talks to the scheduler's API. */
function botEnv(env: NodeJS.ProcessEnv, schedulerUrl: string, token: string): NodeJS.ProcessEnv {
  const { DATABASE_URL: _db, AMQP_URL: _amqp, ...rest } = env;
  return { ...rest, SCHEDULER_URL: schedulerUrl, TELEGRAM_BOT_TOKEN: token };
}

async function waitForApi(url: string, token: string, stopped: () => boolean): Promise<boolean> {
  while (!stopped()) {
    const ok = await fetch(`${url}/jobs`, { headers: { authorization: `Bearer ${token}` } }).then(
      (res) => res.ok,
      () => false,
    );
    if (ok) return true;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  return false;
}

async function main(): Promise<void> {
  const env = process.env;
  let p: Plan;
  try {
    p = plan(process.argv.slice(2), env);
  } catch (error) {
    exitOnConfigError(error);
  }
  const say = (line: string) =>
    process.stdout.write(
      `${p.json ? JSON.stringify({ time: new Date().toISOString(), level: 'info', service: 'fleet', msg: line }) : `fleet: ${line}`}\n`,
    );
  // One stream of JSON lines for a log shipper (or a test); aligned text on a terminal.
  const onLine = (label: string, line: string, stream: 'stdout' | 'stderr') => {
    process.stdout.write(`${p.json ? jsonLine(label, line, stream) : prettyLine(label, line)}\n`);
  };

  const children: Child[] = [];
  /** One-off helpers (register-jobs): stopped with the fleet, not waited for. */
  const helpers = new Set<Child>();
  let stopping = false;
  // Ctrl-C reaches every process of the terminal's group (npm may forward it once more):
  // each service stops on the first signal it sees, so a repeated one changes nothing.
  const stop = (why: string) => {
    if (stopping) return;
    stopping = true;
    say(`${why}: stopping ${children.length} services (SIGTERM)`);
    for (const child of [...children, ...helpers]) if (child.process.exitCode === null) child.process.kill('SIGTERM');
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));

  for (const profile of p.profiles) {
    const scope = scopeName(profile, env);
    const url = `http://127.0.0.1:${basePort(profile, env)}`;
    const args = ['--scope', profile];
    children.push(startChild(`${scope}/scheduler-service`, 'scheduler-service.ts', args, env, onLine));
    for (const script of WORKERS) children.push(startChild(`${scope}/${script.replace('.ts', '')}`, script, args, env, onLine));
    const token = botToken(profile, p.profiles, env);
    if (token) children.push(startChild(`${scope}/telegram-bot`, 'telegram-bot.ts', args, botEnv(env, url, token), onLine));
    else
      say(
        `${scope}: no telegram-bot (set TELEGRAM_BOT_TOKEN${p.profiles.length > 1 ? `_${profile.toUpperCase()}` : ''} and TELEGRAM_CHAT_IDS to start it)`,
      );
    say(`${scope}: admin API and page on ${url} (Bearer $WARREN_ADMIN_TOKEN), metrics on ${url}/metrics`);
    if (p.register) {
      const register = async () => {
        if (!(await waitForApi(url, p.token, () => stopping))) return;
        const child = startChild(
          `${scope}/register-jobs`,
          'register-jobs.ts',
          [...args, ...(p.every ? ['--every', p.every] : [])],
          env,
          onLine,
        );
        helpers.add(child);
        const code = await child.exited;
        helpers.delete(child);
        if (code !== 0 && !stopping) say(`${scope}: register-jobs exited ${code}`);
      };
      void register();
    }
  }

  // A service that dies while the fleet runs takes the fleet down with it: a crash stays visible.
  for (const child of children) {
    void child.exited.then((code) => {
      if (!stopping) stop(`${child.label} exited ${code}`);
    });
  }
  const codes = await Promise.all(children.map((child) => child.exited));
  const failed = children.flatMap((child, i) => (codes[i] === 0 ? [] : [`${child.label} (${codes[i]})`]));
  say(failed.length === 0 ? `all ${children.length} services exited 0` : `exited non-zero: ${failed.join(', ')}`);
  process.exit(failed.length === 0 ? 0 : 1);
}

await main();
