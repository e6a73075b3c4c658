/**
 * One process of the chaos fleet (test/chaos/fleet.ts): a scheduler or a worker built from the
 * BUILT package, as an application runs it (`import 'warren'` resolves through package.json
 * `exports` to dist/). Plain JavaScript, so no TypeScript loader stands between it and dist/.
 *
 * Every handler writes its side effect (run id, job, slot, attempt, pid, time) into the run's
 * own `chaos_effects` table before it returns: the invariant checker compares those rows with
 * warren's `runs`. Events go to the runner over the IPC channel; commands (`runNow`, `pause`)
 * come back the same way. SIGTERM closes everything and exits 0; any other exit is a crash.
 *
 * Usage: node test/chaos/child.mjs '<json config>' (spawned with an IPC channel)
 */
import pg from 'pg';
import { createScheduler, createWorker, defineJob } from 'warren';

const cfg = JSON.parse(process.argv[2]);
const send = (message) => {
  if (process.connected) process.send({ ...message, at: Date.now() });
};

// The runner is gone: nobody will stop this process, so it stops itself.
process.on('disconnect', () => process.exit(0));

/** A tick every second: the slot stream whose rows the checker counts. */
const tick = defineJob({
  id: 'tick',
  schedule: { every: '1s' },
  retry: { maxAttempts: 3, backoff: { type: 'fixed', delay: '0s', jitter: 0 } },
});
/** On demand, holds for `holdMs`: the run a worker is killed in the middle of. */
const slow = defineJob({
  id: 'slow',
  retry: { maxAttempts: 3, backoff: { type: 'fixed', delay: '0s', jitter: 0 } },
  timeout: '5m',
  overlap: 'allowAll',
});
/** On demand, quick: the 300 concurrent runNow. */
const burst = defineJob({
  id: 'burst',
  retry: { maxAttempts: 3, backoff: { type: 'fixed', delay: '0s', jitter: 0 } },
  overlap: 'allowAll',
});
const JOBS = [tick, slow, burst];

const pool = new pg.Pool({ connectionString: cfg.databaseUrl, application_name: cfg.applicationName, max: 5 });
// As the README wires it: an idle client whose backend died must not crash the host.
pool.on('error', (error) => send({ ev: 'error', source: 'pool', message: String(error.message) }));

// One URL, or the list (the transport's failover across cluster nodes).
const amqpUrl = cfg.amqpUrls.length === 1 ? cfg.amqpUrls[0] : cfg.amqpUrls;
const common = { pool, schema: cfg.schema, amqpUrl, scope: cfg.scope, ...(cfg.options ?? {}) };

async function sideEffect(ctx) {
  await pool.query(
    `INSERT INTO "${cfg.schema}".chaos_effects (run_id, job_id, scheduled_for, trigger_source, attempt, pid, instance_id)
     VALUES ($1, $2, $3, $4, $5, $6, $7)`,
    [ctx.runId, ctx.jobId, ctx.scheduledFor, ctx.triggerSource, ctx.attempt, process.pid, cfg.instanceId],
  );
}

/** start() and ready() reject once close() began: expected when told to stop during boot. */
const unlessStopping = (error) => {
  if (!stopping) throw error;
};

let component;
let stopping = false;
// Registered before start(): a process told to stop while its services are still down stops too.
process.once('SIGTERM', () => {
  stopping = true;
  void (async () => {
    await component?.close();
    await pool.end();
    send({ ev: 'closed' });
    process.exit(0);
  })();
});

if (cfg.role === 'worker') {
  const worker = createWorker({ ...common, workerId: cfg.instanceId });
  const handler = async (ctx) => {
    send({ ev: 'start', runId: ctx.runId, jobId: ctx.jobId, attempt: ctx.attempt });
    const holdMs = ctx.jobId === 'slow' ? Number(ctx.params.holdMs ?? 3000) : 0;
    if (holdMs > 0) {
      await new Promise((resolve, reject) => {
        const timer = setTimeout(resolve, holdMs);
        ctx.signal.addEventListener('abort', () => {
          clearTimeout(timer);
          reject(ctx.signal.reason);
        });
      });
    }
    await sideEffect(ctx);
    send({ ev: 'done', runId: ctx.runId, jobId: ctx.jobId, attempt: ctx.attempt });
  };
  for (const job of JOBS) worker.handle(job, handler);
  worker.on('error', (error) => send({ ev: 'error', source: 'worker', message: String(error.message) }));
  component = worker;
  await worker.start();
  await worker.ready().catch(unlessStopping);
} else {
  const scheduler = createScheduler({ ...common, instanceId: cfg.instanceId, jobs: JOBS });
  scheduler.on('error', (error) => send({ ev: 'error', source: 'scheduler', message: String(error.message) }));
  scheduler.on('leader:gained', (fence) => send({ ev: 'leading', epoch: Number(fence.epoch) }));
  scheduler.on('leader:lost', (reason) => send({ ev: 'lost', reason }));
  scheduler.on('slot:published', (run) => send({ ev: 'published', runId: run.runId, jobId: run.jobId }));
  scheduler.on('run:reaped', (reaped) => send({ ev: 'reaped', runId: reaped.runId }));
  component = scheduler;
  process.on('message', (command) => {
    if (command.cmd === 'runNow') {
      // `count` calls at once: each answered with its run id or its error.
      void Promise.all(
        Array.from({ length: command.count }, () =>
          scheduler.runNow(command.jobId, { params: command.params ?? {}, actor: 'chaos' }).then(
            (run) => ({ runId: run.runId }),
            (error) => ({ error: String(error.message) }),
          ),
        ),
      ).then((results) => send({ ev: 'reply', id: command.id, results }));
    } else if (command.cmd === 'pause') {
      scheduler.pause(command.jobId, { actor: 'chaos', note: 'chaos: quiesce' }).then(
        () => send({ ev: 'reply', id: command.id, results: [] }),
        (error) => send({ ev: 'reply', id: command.id, results: [{ error: String(error.message) }] }),
      );
    }
  });
  await scheduler.start().catch(unlessStopping);
  await scheduler.ready().catch(unlessStopping);
}
if (!stopping) send({ ev: 'ready' });
