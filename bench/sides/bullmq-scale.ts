import { Queue, QueueEvents, Worker } from 'bullmq';
import { bullmqConnection, bullmqScheduledFor, scheduledForJobId } from './bullmq-repeat.js';

/** One due occurrence reaching a step, by its slot: `at` is the wall time (ms) of the step. */
export interface SlotEvent {
  slot: number;
  at: number;
}

export interface BullmqScaleOptions {
  redisUrl: string;
  queue: string;
  /** Job schedulers registered; the first `due` on `duePattern`, the rest on `idlePattern`. */
  jobs: number;
  due: number;
  duePattern: string;
  idlePattern: string;
  /** Parallel streams of `upsertJobScheduler` calls (as warren's side registers). */
  streams: number;
  concurrency: number;
  /** Returns the slots to measure, once registration is done and the worker is ready. */
  pickBursts(): number[];
  /** How long after the last burst the side keeps listening, ms. */
  tailMs: number;
}

export interface BullmqScaleRun {
  registerMs: number;
  bursts: number[];
  /** The `waiting` event of each occurrence (promoted from delayed to wait), timed by its event stream id (Redis time). */
  waiting: SlotEvent[];
  /** `job.processedOn` (moved to active by the Worker). */
  active: SlotEvent[];
  notes: string[];
}

/**
 * BullMQ's side of bench/scale.ts: `jobs` job schedulers (`upsertJobScheduler`), a tenth on a
 * 20-second pattern, one Worker with a no-op handler. An occurrence waits as a delayed job
 * until the Worker's `moveToActive` promotes every due delayed job to `wait` (a `waiting`
 * event each) and takes one: that promotion is BullMQ's counterpart of warren publishing a
 * trigger (the job is in the queue, ready for any worker).
 */
export async function runBullmqScale(opts: BullmqScaleOptions): Promise<BullmqScaleRun> {
  const connection = bullmqConnection(opts.redisUrl);
  const queue = new Queue(opts.queue, { connection });
  const events = new QueueEvents(opts.queue, { connection });
  const waiting: SlotEvent[] = [];
  const active: SlotEvent[] = [];
  let noSchedule = 0;
  events.on('waiting', ({ jobId }, id) => {
    const slot = scheduledForJobId(jobId);
    // A stream entry id is `<ms>-<seq>`, the Redis server time of the XADD.
    if (slot !== null) waiting.push({ slot, at: Number(id.split('-')[0]) });
  });
  events.on('error', (err) => console.error('bullmq queue events error:', err.message));
  let worker: Worker | null = null;
  try {
    await queue.waitUntilReady();
    const started = Date.now();
    const chunk = Math.ceil(opts.jobs / opts.streams);
    await Promise.all(
      Array.from({ length: opts.streams }, async (_, k) => {
        for (let i = k * chunk; i < Math.min(opts.jobs, (k + 1) * chunk); i++) {
          const id = `job-${String(i).padStart(5, '0')}`;
          await queue.upsertJobScheduler(
            id,
            { pattern: i < opts.due ? opts.duePattern : opts.idlePattern },
            { name: id, data: {}, opts: { removeOnComplete: true, removeOnFail: true } },
          );
        }
      }),
    );
    const registerMs = Date.now() - started;
    await events.waitUntilReady();
    worker = new Worker(
      opts.queue,
      async (job) => {
        const slot = bullmqScheduledFor(job);
        if (slot === null) noSchedule++;
        else active.push({ slot, at: job.processedOn ?? Number.NaN });
      },
      { connection, concurrency: opts.concurrency },
    );
    worker.on('error', (err) => console.error('bullmq worker error:', err.message));
    await worker.waitUntilReady();
    const bursts = opts.pickBursts();
    await new Promise((r) => setTimeout(r, bursts[bursts.length - 1]! + opts.tailMs - Date.now()));
    return {
      registerMs,
      bursts,
      waiting,
      active,
      notes: [`BullMQ Worker concurrency ${opts.concurrency}; ${noSchedule} job(s) without a scheduled time ignored`],
    };
  } finally {
    await worker?.close();
    await events.close();
    await queue.obliterate({ force: true }).catch((err: Error) => console.error('bullmq obliterate:', err.message));
    await queue.close();
  }
}
