/**
 * The chaos suite (issue 11.6): real scheduler and worker processes of the built package,
 * behind proxies the runner owns, through boot in every order, leader and worker kill -9,
 * a broker cut, PostgreSQL backend bursts and a burst of concurrent runNow; then the
 * invariant checker over runs, side effects and process exits. `npm run chaos` runs the
 * full set (bench/chaos.ts); test/chaos/chaos.test.ts runs the short one in `npm test`.
 * Services are parameters (a URL and a list of broker URLs): the same scenarios run against
 * one broker or a cluster, straight to PostgreSQL or through PgBouncer.
 */
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { migrate } from '../../src/store/migrate.js';
import { cleanupScope } from '../helpers/amqp.js';
import { uniqueToken } from '../helpers/env.js';
import { waitFor } from '../helpers/wait.js';
import { Fleet, type FleetChild, type Role } from './fleet.js';
import { checkInvariants, type InvariantResult } from './invariants.js';

/** A boot order: when the database, the broker and the processes ("app") come up. */
export type BootOrder = ReadonlyArray<'db' | 'broker' | 'app'>;

export const ALL_BOOT_ORDERS: BootOrder[] = [
  ['db', 'broker', 'app'],
  ['broker', 'db', 'app'],
  ['db', 'app', 'broker'],
  ['broker', 'app', 'db'],
  ['app', 'db', 'broker'],
  ['app', 'broker', 'db'],
];

export interface ChaosOptions {
  databaseUrl: string;
  amqpUrls: string[];
  schedulers: number;
  workers: number;
  bootOrders: BootOrder[];
  leaderKills: number;
  workerKills: number;
  /** How long the broker stays cut (ms). */
  brokerCutMs: number;
  pgBursts: number;
  runNowCount: number;
  /** Extra options for the children's createScheduler/createWorker (e.g. `{ pgbouncer: true }`). */
  childOptions?: Record<string, unknown>;
  /** How long the end waits for every run to settle. */
  settleTimeoutMs?: number;
  /** Where the processes' debug logs and events go when anything failed. @default os.tmpdir()/warren-chaos-<token> */
  logDir?: string;
  log?: (line: string) => void;
}

export const SHORT: Omit<ChaosOptions, 'databaseUrl' | 'amqpUrls'> = {
  schedulers: 2,
  workers: 2,
  bootOrders: [
    ['app', 'db', 'broker'],
    ['app', 'broker', 'db'],
  ],
  leaderKills: 3,
  workerKills: 1,
  brokerCutMs: 5_000,
  pgBursts: 2,
  runNowCount: 300,
};

export const FULL: Omit<ChaosOptions, 'databaseUrl' | 'amqpUrls'> = {
  schedulers: 3,
  workers: 3,
  bootOrders: ALL_BOOT_ORDERS,
  leaderKills: 3,
  workerKills: 3,
  brokerCutMs: 10_000,
  pgBursts: 5,
  runNowCount: 300,
};

export interface ChaosReport {
  scope: string;
  schema: string;
  startedAt: string;
  finishedAt: string;
  /** Each scenario's timings in ms, one entry per repetition. */
  timings: {
    bootOrders: Array<{ order: string; lastUpToFirstRunMs: number }>;
    leaderKills: Array<{ killToLeadingMs: number; killToPublishedMs: number }>;
    workerKills: Array<{ killToRetryStartedMs: number }>;
    brokerCut: Array<{ cutMs: number; backToFirstRunMs: number }>;
    pgBursts: Array<{ terminated: number; burstToNextRunMs: number }>;
    runNow: Array<{ count: number; allAnsweredMs: number; allFinishedMs: number }>;
  };
  /** Errors the processes emitted and recovered from, by source. */
  recoveredErrors: Record<string, number>;
  processes: { spawned: number; killed: number; stopped: number };
  /** Runs still pending or running when the settle timeout passed (then also violations). */
  unsettled: number;
  /** Scenarios that did not reach their end (a process never recovered within the bound). */
  failures: Array<{ scenario: string; error: string }>;
  invariants: InvariantResult[];
  /** Invariant violations plus scenario failures: zero is a passing run. */
  violations: number;
  /** Set when anything failed: the processes' debug logs and events. */
  logDir: string | null;
}

type RunNowResult = { runId?: string; error?: string };

export async function runChaos(options: ChaosOptions): Promise<ChaosReport> {
  const log = options.log ?? (() => {});
  const token = uniqueToken('chaos');
  const schema = `chaos_${token}`.slice(0, 63);
  const scope = token.replace(/_/g, '-').slice(0, 40);
  const admin = new pg.Pool({ connectionString: options.databaseUrl, max: 3 });
  admin.on('error', () => {});
  const startedAt = new Date();
  const runNow: RunNowResult[] = [];
  const timings: ChaosReport['timings'] = { bootOrders: [], leaderKills: [], workerKills: [], brokerCut: [], pgBursts: [], runNow: [] };
  const failures: ChaosReport['failures'] = [];
  let fleet: Fleet | undefined;
  /** A scenario that throws is recorded and the suite goes on: the report says what broke. */
  const scenario = async (name: string, body: () => Promise<void>) => {
    try {
      await body();
    } catch (error) {
      failures.push({ scenario: name, error: (error as Error).message });
      log(`FAILED ${name}: ${(error as Error).message}`);
    }
  };

  try {
    await migrate(admin, { schema });
    await admin.query(
      `CREATE TABLE "${schema}".chaos_effects (
         id bigserial PRIMARY KEY, run_id uuid NOT NULL, job_id text NOT NULL, scheduled_for timestamptz NOT NULL,
         trigger_source text NOT NULL, attempt integer NOT NULL, pid integer NOT NULL, instance_id text NOT NULL,
         at timestamptz NOT NULL DEFAULT clock_timestamp())`,
    );
    fleet = await Fleet.start({
      databaseUrl: options.databaseUrl,
      amqpUrls: options.amqpUrls,
      schema,
      scope,
      applicationName: `chaos-${token}`,
      childOptions: options.childOptions,
      debug: true,
    });
    const f = fleet;

    const spawnReady = async (role: Role): Promise<FleetChild> => {
      const child = f.spawn(role);
      await f.ready(child);
      return child;
    };
    const scheduler = () => {
      const s = f.live('scheduler')[0];
      if (!s) throw new Error('no live scheduler');
      return s;
    };
    const ask = async (jobId: string, count: number, params: Record<string, unknown> = {}, via = scheduler()) => {
      const results = (await f.command(via, { cmd: 'runNow', jobId, count, params })) as RunNowResult[];
      runNow.push(...results);
      return results;
    };
    /** The first tick handler starting at or after `since` on one of `on` (any worker when absent). */
    const firstRun = (since: number, what: string, on?: FleetChild) =>
      f.event((e) => e.ev === 'start' && (on === undefined || e.instanceId === on.instanceId), what, 120_000, since);

    // ── Boot in every order ──────────────────────────────────────────────
    for (const order of options.bootOrders) {
      const name = `boot ${order.join(' → ')}`;
      const pair: FleetChild[] = [];
      await scenario(name, async () => {
        f.cutDatabase();
        f.cutBroker();
        let lastUpAt = 0;
        for (const [i, step] of order.entries()) {
          if (step === 'db') f.restoreDatabase();
          else if (step === 'broker') f.restoreBroker();
          else {
            pair.push(f.spawn('scheduler'), f.spawn('worker'));
            // What is still down must see the processes knock before it comes up: proof they
            // booted without it and kept trying.
            const down = order.slice(i + 1);
            const before = { db: f.database.refused, broker: f.brokers.map((b) => b.refused) };
            await waitFor(
              () =>
                (!down.includes('db') || f.database.refused > before.db) &&
                (!down.includes('broker') || f.brokers.some((b, k) => b.refused > before.broker[k]!)),
              `the processes trying ${down.join(' and ')} while down`,
              { timeoutMs: 60_000 },
            );
          }
          lastUpAt = Date.now();
        }
        const first = await firstRun(lastUpAt, `a run after boot order ${order.join(' → ')}`, pair[1]);
        await Promise.all(pair.map((c) => f.ready(c)));
        timings.bootOrders.push({ order: order.join(' → '), lastUpToFirstRunMs: first.at - lastUpAt });
        log(`${name}: first run ${first.at - lastUpAt} ms after the last step`);
      });
      f.restoreDatabase();
      f.restoreBroker();
      await Promise.all(pair.map((c) => f.stop(c)));
    }

    // ── The fleet ────────────────────────────────────────────────────────
    await Promise.all([
      ...Array.from({ length: options.schedulers }, () => spawnReady('scheduler')),
      ...Array.from({ length: options.workers }, () => spawnReady('worker')),
    ]);
    /** The live scheduler whose latest `leading` has no `lost` after it. */
    const currentLeader = () =>
      waitFor(
        () => {
          const leading = f.events.filter((e) => e.ev === 'leading' && f.children.some((c) => c.instanceId === e.instanceId));
          const last = leading[leading.length - 1];
          if (!last || f.events.some((e) => e.ev === 'lost' && e.instanceId === last.instanceId && e.at >= last.at)) return undefined;
          return f.children.find((c) => c.instanceId === last.instanceId);
        },
        'a leader',
        { timeoutMs: 60_000 },
      );
    await firstRun(Date.now(), 'the fleet running ticks');

    // ── Leader kill -9 ───────────────────────────────────────────────────
    await scenario('leader kill -9', async () => {
      for (let i = 0; i < options.leaderKills; i++) {
        const leader = await currentLeader();
        const killedAt = await f.kill9(leader);
        const gained = await f.event((e) => e.ev === 'leading' && e.instanceId !== leader.instanceId, 'a new leader', 120_000, killedAt);
        const published = await f.event(
          (e) => e.ev === 'published' && e.instanceId === gained.instanceId,
          'the new leader publishing',
          120_000,
          killedAt,
        );
        timings.leaderKills.push({ killToLeadingMs: gained.at - killedAt, killToPublishedMs: published.at - killedAt });
        log(
          `leader kill ${i + 1}: ${gained.instanceId} leading after ${gained.at - killedAt} ms, publishing after ${published.at - killedAt} ms`,
        );
        await spawnReady('scheduler');
      }
    });

    // ── Worker kill -9 mid-run ───────────────────────────────────────────
    await scenario('worker kill -9 mid-run', async () => {
      for (let i = 0; i < options.workerKills; i++) {
        const [asked] = await ask('slow', 1, { holdMs: 4000 });
        if (!asked?.runId) throw new Error(`runNow slow refused: ${asked?.error}`);
        const started = await f.event((e) => e.ev === 'start' && e.runId === asked.runId, 'the slow run starting', 120_000);
        const victim = f.children.find((c) => c.instanceId === started.instanceId)!;
        const killedAt = await f.kill9(victim);
        const retry = await f.event(
          (e) => e.ev === 'start' && e.runId === asked.runId && Number(e.attempt) > Number(started.attempt),
          'the retry starting',
          120_000,
          killedAt,
        );
        timings.workerKills.push({ killToRetryStartedMs: retry.at - killedAt });
        log(`worker kill ${i + 1}: retry started on ${retry.instanceId} after ${retry.at - killedAt} ms`);
        await spawnReady('worker');
      }
    });

    // ── Broker cut ───────────────────────────────────────────────────────
    if (options.brokerCutMs > 0) {
      await scenario('broker cut', async () => {
        const cutAt = Date.now();
        f.cutBroker();
        try {
          // The control API needs only PostgreSQL: these wait in the outbox for the broker.
          await ask('burst', 5);
          // The cut's length is the scenario itself, not a wait for a condition.
          await new Promise((resolve) => setTimeout(resolve, Math.max(0, cutAt + options.brokerCutMs - Date.now())));
        } finally {
          f.restoreBroker();
        }
        const backAt = Date.now();
        const first = await firstRun(backAt, 'a run after the broker came back');
        timings.brokerCut.push({ cutMs: backAt - cutAt, backToFirstRunMs: first.at - backAt });
        log(`broker cut ${backAt - cutAt} ms: first run ${first.at - backAt} ms after it came back`);
      });
    }

    // ── PostgreSQL backend bursts ────────────────────────────────────────
    await scenario('postgres backend bursts', async () => {
      for (let i = 0; i < options.pgBursts; i++) {
        const { rows } = await admin.query<{ n: number }>(
          `SELECT count(pg_terminate_backend(pid))::int AS n FROM pg_stat_activity WHERE starts_with(application_name, $1) AND pid <> pg_backend_pid()`,
          [`chaos-${token}-`],
        );
        const burstAt = Date.now();
        // A run that started after the burst and finished: its claim, side effect and result went through new connections.
        const next = await f.event(
          (e) => e.ev === 'done' && f.events.some((s) => s.ev === 'start' && s.runId === e.runId && s.at >= burstAt),
          'a run starting and finishing after the burst',
          120_000,
          burstAt,
        );
        timings.pgBursts.push({ terminated: rows[0]!.n, burstToNextRunMs: next.at - burstAt });
        log(`postgres burst ${i + 1}: ${rows[0]!.n} backends terminated, next run done after ${next.at - burstAt} ms`);
      }
    });

    // ── Concurrent runNow ────────────────────────────────────────────────
    if (options.runNowCount > 0) {
      await scenario(`${options.runNowCount} concurrent runNow`, async () => {
        const schedulers = f.live('scheduler');
        const askedAt = Date.now();
        const shares = schedulers.map(
          (_, k) => Math.floor(options.runNowCount / schedulers.length) + (k < options.runNowCount % schedulers.length ? 1 : 0),
        );
        const answers = (await Promise.all(schedulers.map((s, k) => ask('burst', shares[k]!, {}, s)))).flat();
        const answeredAt = Date.now();
        const ids = answers.flatMap((a) => (a.runId ? [a.runId] : []));
        await waitFor(
          async () => {
            const { rows } = await admin.query<{ n: number }>(
              `SELECT count(*)::int AS n FROM "${schema}".runs WHERE run_id = ANY($1) AND status NOT IN ('pending', 'running')`,
              [ids],
            );
            return rows[0]!.n === ids.length;
          },
          `${ids.length} run-now runs finishing`,
          { timeoutMs: 180_000, intervalMs: 100 },
        );
        const finishedAt = Date.now();
        timings.runNow.push({ count: answers.length, allAnsweredMs: answeredAt - askedAt, allFinishedMs: finishedAt - askedAt });
        log(`runNow ×${answers.length}: all answered after ${answeredAt - askedAt} ms, all finished after ${finishedAt - askedAt} ms`);
      });
    }

    // ── Settle, stop, check ──────────────────────────────────────────────
    await scenario('settle', async () => {
      const [refused] = (await f.command(scheduler(), { cmd: 'pause', jobId: 'tick' })) as RunNowResult[];
      if (refused?.error) throw new Error(`pause tick: ${refused.error}`);
    });
    const unsettled = await waitFor(
      async () => {
        const { rows } = await admin.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "${schema}".runs WHERE scope = $1 AND status IN ('pending', 'running')`,
          [scope],
        );
        return rows[0]!.n === 0 ? { n: 0 } : undefined;
      },
      'every run settled',
      { timeoutMs: options.settleTimeoutMs ?? 60_000, intervalMs: 200 },
    ).then(
      () => 0,
      async () => {
        const { rows } = await admin.query<{ n: number }>(
          `SELECT count(*)::int AS n FROM "${schema}".runs WHERE scope = $1 AND status IN ('pending', 'running')`,
          [scope],
        );
        return rows[0]!.n;
      },
    );
    await f.close();

    const invariants = await checkInvariants({ pool: admin, schema, scope, exits: f.exits, runNow });
    const recoveredErrors: Record<string, number> = {};
    for (const e of f.events) if (e.ev === 'error') recoveredErrors[String(e.source)] = (recoveredErrors[String(e.source)] ?? 0) + 1;
    const violations = invariants.reduce((n, r) => n + r.violations, 0) + failures.length;
    let logDir: string | null = null;
    if (violations > 0) {
      logDir = options.logDir ?? path.join(os.tmpdir(), `warren-chaos-${token}`);
      f.writeLogs(logDir);
    }
    fleet = undefined;
    return {
      scope,
      schema,
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      timings,
      recoveredErrors,
      processes: {
        spawned: f.exits.length,
        killed: f.exits.filter((e) => e.signal === 'SIGKILL').length,
        stopped: f.exits.filter((e) => e.code === 0).length,
      },
      unsettled,
      failures,
      invariants,
      violations,
      logDir,
    };
  } finally {
    if (fleet) {
      // The suite itself failed: no child outlives it, and its logs say why.
      fleet.killAll();
      await fleet.close().catch(() => {});
      const logDir = options.logDir ?? path.join(os.tmpdir(), `warren-chaos-${token}`);
      fleet.writeLogs(logDir);
      log(`the suite stopped early; the processes' logs: ${logDir}`);
    }
    await admin.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch(() => {});
    await admin.end();
    await cleanupScope(scope, {}, options.amqpUrls[0]).catch(() => {});
  }
}
