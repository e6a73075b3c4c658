/**
 * What the four worker services share: a warren worker on one queue (every job routed to
 * it, including jobs registered over REST that no code defines), the seed's startup
 * one-shot, JSON logs per run, and /metrics on the service's own port.
 */
import pg from 'pg';
import { createWorker, defineJob, type JobContext, type JobHandler, type RunInfo, type Worker } from 'warren';
import type { z } from 'zod';
import { backends } from './config.js';
import { createMetrics, listen, metricsOnly } from './http.js';
import type { ServiceLogger } from './log.js';
import { reportReadiness } from './readiness.js';
import { runService, type ServiceContext } from './service.js';

export interface WorkerServiceSpec<S extends z.ZodType> {
  /** The service's name in logs, and the queue it consumes: `{scope}.jobs.{name}`. */
  name: string;
  portOffset: number;
  /** What every run's params must pass (the job's stored default params merged under the run's own). */
  params: S;
  /** Params of the startup one-shot: the seed's `startup_oneshot`, one run per boot. */
  startupParams: z.input<S>;
  /** Builds the run handler; what it keeps between runs (price-monitor's loop) ends with `close`. */
  create(service: ServiceContext): ServiceHandler<z.output<S>>;
}

export interface ServiceHandler<P> {
  handler(ctx: JobContext<P>): Promise<void>;
  close?(): Promise<void>;
}

const runFields = (run: RunInfo) => ({ job_id: run.jobId, trigger_source: run.triggerSource, run_id: run.runId, attempt: run.attempt });

/** Each run's start and end at info (warren itself logs failures, and successes at debug). */
function logRuns(worker: Worker, log: ServiceLogger): void {
  worker.on('run:start', (run) => log.info(runFields(run), 'run started'));
  worker.on('run:success', (run, { durationMs }) => log.info({ ...runFields(run), duration_ms: Math.round(durationMs) }, 'run succeeded'));
  worker.on('message:dead-lettered', ({ queue, reason }) => log.warn({ queue, reason }, 'message dead-lettered'));
}

export function runWorkerService<S extends z.ZodType>(spec: WorkerServiceSpec<S>): Promise<void> {
  return runService({
    name: spec.name,
    portOffset: spec.portOffset,
    async start(service) {
      const { scope, port, log, env } = service;
      const { databaseUrl, amqpUrl, schema } = backends(env);
      const pool = new pg.Pool({ connectionString: databaseUrl, max: 5 });
      pool.on('error', (error) => log.warn({ err: error }, 'database pool error'));
      const { handler: typed, close } = spec.create(service);
      // Each service's handler is type-checked against its own schema where it is written;
      // here the schema type is still generic, which TypeScript cannot map to params.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const handler = typed as JobHandler<any>;
      // A typed definition only for the startup one-shot: no schedule, one run per boot.
      const startup = defineJob({
        id: `${spec.name}-startup`,
        queue: spec.name,
        description: `${spec.name}: one run when the service boots (the seed's startup one-shot)`,
        params: spec.params,
        defaultParams: spec.startupParams,
        runOnStartup: true,
      });
      const worker = createWorker({
        pool,
        schema,
        amqpUrl,
        scope,
        logger: log,
        workerId: `${spec.name}-${process.pid}`,
        shutdownGrace: '10s',
      })
        .handleQueue(spec.name, handler, { params: spec.params })
        .handle(startup, handler);
      logRuns(worker, log);

      const metrics = createMetrics();
      metrics.observeWorker(worker);
      const server = await listen(port, metricsOnly(metrics));
      // Resolves at once: a broker or database still down is retried in the background
      // (the seed's price-monitor died here with "Service initialization failed").
      await worker.start();
      log.info({ metrics: `http://127.0.0.1:${server.port}/metrics` }, 'started; connecting to the database and the broker');
      void reportReadiness(worker, log).then(
        (ready) => ready && log.info({ queue: `${scope}.jobs.${spec.name}`, worker_id: worker.workerId }, 'consuming'),
      );

      return {
        async close() {
          await worker.close();
          await close?.();
          await server.close();
          await pool.end();
        },
      };
    },
  });
}
