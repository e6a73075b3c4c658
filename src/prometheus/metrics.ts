import { WarrenError, describeValue } from '../errors.js';
import type { MetricsRegistryLike } from './client.js';
import { observeSchedulerWith, observeWorkerWith, type ObservableScheduler, type ObservableWorker } from './observe.js';
import { parsePrometheusOptions, type PrometheusMetricsOptions } from './options.js';
import { registerMetrics } from './register.js';

export interface PrometheusMetrics {
  /** Counts the worker's runs, retries, dead letters and dropped messages; returns the unsubscribe function. */
  observeWorker(worker: ObservableWorker): () => void;
  /** Keeps the leader gauge and counts published slots and reaped runs; returns the unsubscribe function (which also removes this instance's leader series). */
  observeScheduler(scheduler: ObservableScheduler): () => void;
}

function assertEmitter(value: unknown, what: string, extra: string[]): void {
  const names = ['on', 'off', ...extra];
  const ok = typeof value === 'object' && value !== null && names.every((n) => typeof (value as Record<string, unknown>)[n] === 'function');
  if (!ok)
    throw new WarrenError(
      'ERR_INVALID_ARGUMENT',
      `Invalid \`${what}\`: expected a ${what} (with ${names.join('/')}), got ${describeValue(value)}`,
      { field: what },
    );
}

/**
 * Prometheus metrics fed by worker and scheduler events, in the caller's prom-client
 * registry. Calling it again on the same registry reuses the metrics already there.
 *
 * ```ts
 * import * as promClient from 'prom-client';
 * const metrics = createPrometheusMetrics({ client: promClient });
 * metrics.observeWorker(worker);
 * metrics.observeScheduler(scheduler);
 * ```
 */
export function createPrometheusMetrics<R extends MetricsRegistryLike>(options: PrometheusMetricsOptions<R>): PrometheusMetrics {
  const o = parsePrometheusOptions(options);
  const m = registerMetrics(o.client, o.registry ?? o.client.register, o.prefix, o.buckets);
  // Observing one emitter twice would count everything twice: the second call returns the first unsubscribe.
  const workers = new WeakMap<object, () => void>();
  const schedulers = new WeakMap<object, () => void>();
  const once = (seen: WeakMap<object, () => void>, target: object, start: () => () => void) => {
    const existing = seen.get(target);
    if (existing) return existing;
    const stop = start();
    const unsubscribe = () => {
      if (seen.get(target) === unsubscribe) seen.delete(target);
      stop();
    };
    seen.set(target, unsubscribe);
    return unsubscribe;
  };
  return {
    observeWorker(worker) {
      assertEmitter(worker, 'worker', []);
      return once(workers, worker, () => observeWorkerWith(m, worker));
    },
    observeScheduler(scheduler) {
      assertEmitter(scheduler, 'scheduler', ['isLeader']);
      return once(schedulers, scheduler, () => observeSchedulerWith(m, scheduler));
    },
  };
}
