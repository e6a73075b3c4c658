/* eslint-disable @typescript-eslint/no-explicit-any -- the harness holds job definitions and handlers of every params type side by side */
import type { JobHandler } from '../define/types.js';
import type { Activity } from './activity.js';
import type { ProcessSandbox } from './process-sandbox.js';

/**
 * Wraps the user's handlers for one simulated worker process: injected failures
 * (`failNext`) are thrown before the handler runs, the handler's signal also aborts when
 * its worker crashes, and a crashed worker never learns how its handler ended.
 */
export class HandlerWrapper {
  readonly #activity: Activity;
  readonly #failures = new Map<string, unknown[]>();

  constructor(activity: Activity) {
    this.#activity = activity;
  }

  /** Queues failures for the next attempts of a job: `n` plain Errors, or `error` `count` times. */
  failNext(jobId: string, errorOrCount: unknown, count?: number): void {
    const queue = this.#failures.get(jobId) ?? [];
    if (typeof errorOrCount === 'number') {
      for (let i = 1; i <= errorOrCount; i++) queue.push(new Error(`injected failure ${i} of ${errorOrCount} (harness.failNext)`));
    } else {
      for (let i = 0; i < (count ?? 1); i++) queue.push(errorOrCount);
    }
    this.#failures.set(jobId, queue);
  }

  /** Keyed by the run's job id, so a queue handler's jobs (one handler, many ids) get their own failures. */
  wrap(handler: JobHandler<any>, sandbox: ProcessSandbox): JobHandler<any> {
    return (ctx) => {
      this.#activity.bump();
      const injected = this.#failures.get(ctx.jobId)?.shift();
      const controller = new AbortController();
      const onWorker = () => controller.abort(ctx.signal.reason);
      const onDeath = () => controller.abort(sandbox.deathSignal.reason);
      if (ctx.signal.aborted) onWorker();
      else ctx.signal.addEventListener('abort', onWorker, { once: true });
      sandbox.deathSignal.addEventListener('abort', onDeath, { once: true });
      const result =
        injected !== undefined ? Promise.reject(injected) : Promise.resolve().then(() => handler({ ...ctx, signal: controller.signal }));
      return sandbox.guard(
        result.finally(() => {
          ctx.signal.removeEventListener('abort', onWorker);
          sandbox.deathSignal.removeEventListener('abort', onDeath);
          this.#activity.bump();
        }),
      );
    };
  }
}
