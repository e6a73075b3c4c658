import pg from 'pg';
import { deleteScopeTopology } from '../lib/amqp-cleanup.js';
import { TransportProbe } from '../lib/transport-probe.js';
import { AmqpTransport, createScheduler, createWorker, defineJob } from '../lib/warren.js';
import { summarize } from '../lib/stats.js';
import type { LatenessRun, LatenessSample } from './bullmq-repeat.js';

export interface WarrenLatenessOptions {
  databaseUrl: string;
  amqpUrl: string;
  /** Used as the scope and the Postgres schema (both fresh, both removed afterwards). */
  token: string;
  jobs: number;
  schedule: { cron: string } | { every: string };
  concurrency: number;
  durationMs: number;
  /** The scheduler's `lookAhead` (undefined: its default). */
  lookAhead?: string;
  /** The worker's `prefetch` (undefined: its default, 2 × concurrency). */
  prefetch?: number;
}

/**
 * warren end to end on the real services: one scheduler (leader of its scope) publishes
 * each due slot of `jobs` jobs to one shared queue, one worker (concurrency N) runs them.
 * Lateness = handler start (Date.now() on entry) − `ctx.scheduledFor` (the slot).
 * Only slots inside the measuring window count; the window opens once the scheduler
 * leads and the worker consumes. Slots that did not run are read from the runs table.
 */
export async function runWarrenLateness(opts: WarrenLatenessOptions): Promise<LatenessRun> {
  const scope = opts.token;
  const schema = opts.token;
  const pool = new pg.Pool({ connectionString: opts.databaseUrl, max: 10 });
  pool.on('error', () => {});
  const samples: LatenessSample[] = [];
  let windowStart = Number.POSITIVE_INFINITY;
  let windowEnd = Number.POSITIVE_INFINITY;
  let outside = 0;
  const definitions = Array.from({ length: opts.jobs }, (_, i) =>
    defineJob({ id: `job-${String(i).padStart(2, '0')}`, queue: 'lateness', schedule: opts.schedule, catchup: 'none' }),
  );
  // Both sides' transports are probed: when each trigger was sent and confirmed (scheduler),
  // and when it was delivered (worker), on the wall clock the slots are on.
  const schedulerTransport = new TransportProbe(new AmqpTransport({ url: opts.amqpUrl, scope }));
  const workerTransport = new TransportProbe(new AmqpTransport({ url: opts.amqpUrl, scope }));
  const stages = new Map<string, { scheduledFor: number; startedAt: number }>();
  const scheduler = createScheduler({
    pool,
    schema,
    transport: schedulerTransport,
    scope,
    jobs: definitions,
    ...(opts.lookAhead === undefined ? {} : { lookAhead: opts.lookAhead }),
  });
  scheduler.on('error', (err) => console.error('warren scheduler error:', err.message));
  // The scheduler's share of the lateness: slot → trigger published (claimed, inserted,
  // confirmed by RabbitMQ, marked published). The rest is the broker and the worker's claim.
  const publishLag: number[] = [];
  scheduler.on('slot:published', (run) => {
    const scheduledFor = run.scheduledFor.getTime();
    if (scheduledFor >= windowStart && scheduledFor < windowEnd) publishLag.push(Date.now() - scheduledFor);
  });
  // Where the leader's time goes: the phases of each tick that published slots of the window.
  const tickPhases: Array<Record<string, number | null>> = [];
  scheduler.on('tick', (summary) => {
    if (summary.inserted.pending > 0 && summary.at.getTime() >= windowStart && summary.at.getTime() < windowEnd + 1000)
      tickPhases.push({ ...summary.phases });
  });
  const worker = createWorker({
    pool,
    schema,
    transport: workerTransport,
    scope,
    concurrency: opts.concurrency,
    ...(opts.prefetch === undefined ? {} : { prefetch: opts.prefetch }),
    jobs: definitions.map((definition) => ({
      definition,
      handler: (ctx: { jobId: string; runId: string; scheduledFor: Date }) => {
        const startedAt = Date.now();
        const scheduledFor = ctx.scheduledFor.getTime();
        if (scheduledFor < windowStart || scheduledFor >= windowEnd) {
          outside++;
          return;
        }
        samples.push({ job: ctx.jobId, scheduledFor, startedAt, latenessMs: startedAt - scheduledFor });
        stages.set(ctx.runId, { scheduledFor, startedAt });
      },
    })),
  });
  worker.on('error', (err) => console.error('warren worker error:', err.message));
  const notes: string[] = [];
  try {
    const leading = new Promise<void>((resolve) => scheduler.once('leader:gained', () => resolve()));
    await scheduler.start();
    await worker.start();
    await Promise.race([
      Promise.all([leading, worker.ready()]),
      new Promise((_, reject) => setTimeout(() => reject(new Error('warren did not become ready within 60 s')), 60_000)),
    ]);
    windowStart = Date.now();
    windowEnd = windowStart + opts.durationMs;
    await new Promise((r) => setTimeout(r, opts.durationMs + 3000));
    const { rows } = await pool.query<{ status: string; n: string }>(
      `SELECT status, count(*) AS n FROM "${schema}".runs WHERE scope = $1 AND scheduled_for >= $2 AND scheduled_for < $3 GROUP BY status ORDER BY status`,
      [scope, new Date(windowStart), new Date(windowEnd)],
    );
    notes.push(`run rows in the window by status: ${rows.map((r) => `${r.status} ${r.n}`).join(', ') || 'none'}`);
    const lag = summarize(publishLag);
    notes.push(
      `slot → slot:published event (scheduler share) ms: n ${lag.count}, p50 ${lag.p50}, p90 ${lag.p90}, p99 ${lag.p99}, max ${lag.max}`,
    );
    if (tickPhases.length > 0) {
      const keys = Object.keys(tickPhases[0]!);
      const phase = (key: string) => summarize(tickPhases.map((p) => p[key]).filter((x): x is number => typeof x === 'number'));
      notes.push(
        `slot ticks: ${tickPhases.length}; tick phases ms p50/p90/max: ${keys
          .map((k) => {
            const s = phase(k);
            return `${k} ${s.p50}/${s.p90}/${s.max}`;
          })
          .join(', ')}`,
      );
    }
    // Where each run's lateness went: slot → publish sent → broker confirm → delivered to the worker → handler start.
    // With the look-ahead the trigger is sent before the slot (negative slot→sent) and
    // delivered→handler includes the worker holding it until the slot.
    const stage = (from: (id: string) => number | undefined, to: (id: string) => number | undefined) =>
      summarize(
        [...stages.keys()].flatMap((id) => {
          const a = from(id);
          const b = to(id);
          return a === undefined || b === undefined ? [] : [b - a];
        }),
      );
    const slot = (id: string) => stages.get(id)?.scheduledFor;
    const sent = (id: string) => schedulerTransport.sentWallAt.get(id);
    const confirmed = (id: string) => schedulerTransport.confirmedWallAt.get(id);
    const delivered = (id: string) => workerTransport.deliveredWallAt.get(id);
    const started = (id: string) => stages.get(id)?.startedAt;
    const line = (name: string, s: ReturnType<typeof summarize>) => `${name} p50 ${s.p50} / p99 ${s.p99} / max ${s.max}`;
    notes.push(
      `stages ms: ${[
        line('slot→sent', stage(slot, sent)),
        line('sent→confirmed', stage(sent, confirmed)),
        line('sent→delivered', stage(sent, delivered)),
        line('delivered→handler', stage(delivered, started)),
      ].join('; ')}`,
    );
    notes.push(`${outside} runs outside the window ignored; worker stats ${JSON.stringify(worker.stats())}`);
  } finally {
    await worker.close().catch(() => {});
    await scheduler.close().catch(() => {});
    await schedulerTransport.close().catch(() => {});
    await workerTransport.close().catch(() => {});
    await deleteScopeTopology(opts.amqpUrl, scope).catch((err: Error) => console.error('cleanup (RabbitMQ):', err.message));
    await pool.query(`DROP SCHEMA IF EXISTS "${schema}" CASCADE`).catch((err: Error) => console.error('cleanup (Postgres):', err.message));
    await pool.end().catch(() => {});
  }
  const ahead = opts.lookAhead === undefined ? 'lookAhead default' : `lookAhead ${opts.lookAhead}`;
  const window = opts.prefetch === undefined ? '' : `, prefetch ${opts.prefetch}`;
  return { side: `warren createScheduler + createWorker (concurrency ${opts.concurrency}${window}, ${ahead})`, samples, notes };
}
