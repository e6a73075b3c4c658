import type { TriggerSource } from '../define/types.js';
import type { ClaimOutcome } from '../store/port.js';

/** Counters since the worker was created. */
export interface WorkerStats {
  /** Deliveries taken off the broker. */
  received: number;
  /** Runs claimed (running, or waiting for a handler slot). */
  claimed: number;
  succeeded: number;
  /** Handler failures (including timeouts), whatever came next. */
  failed: number;
  /** Failures sent back for another attempt. */
  retried: number;
  /** Runs ended `dead` or `timed_out` on their last attempt. */
  dead: number;
  /** Messages sent to a `.dead` queue (malformed, unknown, exhausted). */
  deadLettered: number;
  duplicates: number;
  staleEpoch: number;
  expired: number;
  skipped: number;
  /** Deliveries put back with a 1 s delay because the job was at maxParallel. */
  busy: number;
  /** Deliveries that arrived before their run's availableAt and were re-delayed. */
  early: number;
  /** Deliveries sent ahead of their instant (a slot claimed ahead) that waited for it here before their claim. */
  held: number;
}

export function emptyStats(): WorkerStats {
  return {
    received: 0,
    claimed: 0,
    succeeded: 0,
    failed: 0,
    retried: 0,
    dead: 0,
    deadLettered: 0,
    duplicates: 0,
    staleEpoch: 0,
    expired: 0,
    skipped: 0,
    busy: 0,
    early: 0,
    held: 0,
  };
}

export interface RunInfo {
  runId: string;
  jobId: string;
  scope: string;
  queue: string;
  attempt: number;
  maxAttempts: number;
  triggerSource: TriggerSource;
  scheduledFor: Date;
}

export interface WorkerEvents {
  /** Definitions synced, queues asserted and consumed: the worker is fully up. */
  started: [];
  'run:start': [run: RunInfo];
  'run:success': [run: RunInfo, info: { durationMs: number }];
  /** The handler failed (thrown, rejected, invalid params, timed out); what follows is `run:retry` or `run:dead`. */
  'run:failure': [run: RunInfo, error: unknown];
  'run:retry': [run: RunInfo, info: { error: unknown; retryAt: Date }];
  'run:dead': [run: RunInfo, info: { error: unknown; status: 'dead' | 'timed_out'; reason: string }];
  'message:dead-lettered': [info: { queue: string; reason: string; messageId: string | undefined }];
  'message:dropped': [info: { queue: string; runId: string; outcome: Exclude<ClaimOutcome, 'claimed' | 'not_found' | 'busy' | 'early'> }];
  error: [error: Error];
}
