import type { Transport } from '../broker/transport.js';
import { WarrenError } from '../errors.js';
import { publishRuns, type PublishRunsOptions } from './publish-runs.js';
import type { JobConfig } from '../define/types.js';
import { workQueueName } from '../names.js';
import type { JobRecord, RunRecord, Store } from '../store/port.js';

/**
 * Publishes run triggers for the leader and the control API. The work queue is declared
 * first (idempotently; the transport re-declares it after a reconnect) so a trigger waits
 * in the queue for a worker that has not booted yet instead of coming back unroutable.
 * A failed publish leaves the run unpublished: the leader's outbox pass retries it.
 *
 * While the broker is unreachable nothing is sent (nor buffered): the leader must keep
 * claiming and recording slots on time instead of waiting on publishes the transport
 * would hold until `publishTimeout`. The runs stay unpublished, and the outbox sends them
 * as soon as the broker is back (the scheduler wakes the tick on reconnect).
 */
export class RunPublisher {
  readonly #asserted = new Set<string>();

  constructor(
    private readonly store: Store,
    private readonly transportOf: () => Transport | null,
  ) {}

  /** False for a control-only instance without a broker: its runs wait for the leader's outbox. */
  get enabled(): boolean {
    return this.transportOf() !== null;
  }

  /** `onConfirmed` runs once the broker settled every publish, before the runs are marked published; `earlyMs` as in publishRuns. */
  async publish(
    runs: readonly RunRecord[],
    jobOf: (jobId: string) => Promise<JobRecord | null>,
    now: number,
    options: PublishRunsOptions = {},
  ): Promise<{ published: RunRecord[]; failed: Array<{ runId: string; error: unknown }> }> {
    const transport = this.transportOf();
    if (transport === null || runs.length === 0) return { published: [], failed: [] };
    if (!transport.isConnected()) {
      options.onConfirmed?.();
      const error = new WarrenError('ERR_UNREACHABLE', 'broker unreachable: the triggers stay in the outbox until it is back');
      return { published: [], failed: runs.map((run) => ({ runId: run.runId, error })) };
    }
    const configs = new Map<string, JobConfig>();
    const failed: Array<{ runId: string; error: unknown }> = [];
    const seen = new Set<string>();
    for (const run of runs) {
      if (seen.has(run.jobId)) continue;
      seen.add(run.jobId);
      const job = await jobOf(run.jobId);
      if (job === null) continue;
      configs.set(run.jobId, job);
      const queue = workQueueName(run.scope, job.queue);
      if (!this.#asserted.has(queue)) {
        try {
          await transport.assertQueue(queue);
          this.#asserted.add(queue);
        } catch (error) {
          configs.delete(run.jobId);
          for (const r of runs) if (r.jobId === run.jobId) failed.push({ runId: r.runId, error });
        }
      }
    }
    const publishable = runs.filter((run) => configs.has(run.jobId));
    const result = await publishRuns(transport, this.store, publishable, (run) => configs.get(run.jobId), now, options);
    const ids = new Set(result.published);
    return { published: publishable.filter((run) => ids.has(run.runId)), failed: [...failed, ...result.failed] };
  }
}
