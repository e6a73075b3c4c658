import { Queue, Worker, type Job } from 'bullmq';

export interface LatenessSample {
  job: string;
  scheduledFor: number;
  startedAt: number;
  latenessMs: number;
}

export interface LatenessRun {
  side: string;
  samples: LatenessSample[];
  /** Setup notes and counts that explain the samples. */
  notes: string[];
}

export interface BullmqLatenessOptions {
  redisUrl: string;
  queue: string;
  jobs: number;
  /** A 6-field cron (`*\/5 * * * * *`) or an `every` period in ms. */
  schedule: { pattern: string } | { every: number };
  concurrency: number;
  durationMs: number;
}

/**
 * Scheduled time of a job-scheduler job: BullMQ names each occurrence
 * `repeat:<schedulerId>:<nextMillis>` (JobScheduler.getSchedulerNextJobId), where
 * nextMillis is the slot it was scheduled for. `job.opts.prevMillis` is not carried to the
 * worker in BullMQ 6, and `timestamp + delay` is computed from when the previous
 * occurrence was moved to active, so the id is the exact scheduled time.
 */
export function bullmqScheduledFor(job: Job): number | null {
  return job.id === undefined ? null : scheduledForJobId(job.id);
}

/** The scheduled time in a job-scheduler job's id (`repeat:<schedulerId>:<nextMillis>`), or null. */
export function scheduledForJobId(id: string): number | null {
  const millis = Number(id.split(':').pop());
  return id.startsWith('repeat:') && Number.isFinite(millis) ? millis : null;
}

/** ioredis connection options for a redis:// URL, as BullMQ's Worker needs them (no retry limit per request). */
export function bullmqConnection(redisUrl: string): { host: string; port: number; maxRetriesPerRequest: null } {
  const url = new URL(redisUrl);
  return { host: url.hostname, port: Number(url.port || 6379), maxRetriesPerRequest: null };
}

/**
 * BullMQ's repeatable jobs (the job-scheduler API, `upsertJobScheduler`) on Redis: `jobs`
 * schedulers with the same period, one Worker, lateness = handler start − scheduled time.
 * Only occurrences scheduled inside the measuring window count (the warm-up occurrence
 * that `every` creates at once is left out).
 */
export async function runBullmqLateness(opts: BullmqLatenessOptions): Promise<LatenessRun> {
  const connection = bullmqConnection(opts.redisUrl);
  const queue = new Queue(opts.queue, { connection });
  const samples: LatenessSample[] = [];
  let windowStart = Number.POSITIVE_INFINITY;
  let windowEnd = Number.POSITIVE_INFINITY;
  let outside = 0;
  let noSchedule = 0;
  const worker = new Worker(
    opts.queue,
    async (job) => {
      const startedAt = Date.now();
      const scheduledFor = bullmqScheduledFor(job);
      if (scheduledFor === null) {
        noSchedule++;
        return;
      }
      if (scheduledFor < windowStart || scheduledFor >= windowEnd) {
        outside++;
        return;
      }
      samples.push({ job: job.repeatJobKey ?? job.name, scheduledFor, startedAt, latenessMs: startedAt - scheduledFor });
    },
    { connection, concurrency: opts.concurrency, removeOnComplete: { count: 100 }, removeOnFail: { count: 100 } },
  );
  worker.on('error', (err) => console.error('bullmq worker error:', err.message));
  try {
    await worker.waitUntilReady();
    for (let i = 0; i < opts.jobs; i++) {
      const repeat = 'pattern' in opts.schedule ? { pattern: opts.schedule.pattern } : { every: opts.schedule.every };
      await queue.upsertJobScheduler(`job-${String(i).padStart(2, '0')}`, repeat, { name: `job-${i}`, data: {} });
    }
    // Count only slots after every scheduler exists, so setup time is not lateness.
    windowStart = Date.now();
    windowEnd = windowStart + opts.durationMs;
    await new Promise((r) => setTimeout(r, opts.durationMs + 2000));
    windowEnd = Math.min(windowEnd, Date.now());
  } finally {
    await worker.close();
    await queue.obliterate({ force: true }).catch((err: Error) => console.error('bullmq obliterate:', err.message));
    await queue.close();
  }
  return {
    side: `BullMQ job schedulers (Worker concurrency ${opts.concurrency})`,
    samples,
    notes: [`${outside} occurrences outside the window and ${noSchedule} without a scheduled time ignored`],
  };
}
