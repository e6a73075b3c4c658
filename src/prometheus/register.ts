/**
 * Creates warren's metrics in a registry, or takes the ones already there: prom-client
 * throws "already registered" on a second `new Counter` of one name, and a service may
 * well call `createPrometheusMetrics` twice (a worker module and a scheduler module, hot
 * reload, tests).
 */
import { WarrenError } from '../errors.js';
import type { CounterLike, GaugeLike, HistogramLike, MetricConfigLike, MetricsRegistryLike, PromClientLike } from './client.js';

export interface WarrenMetricSet {
  jobDuration: HistogramLike;
  runs: CounterLike;
  retries: CounterLike;
  deadLetters: CounterLike;
  messagesDropped: CounterLike;
  leader: GaugeLike;
  slotsPublished: CounterLike;
  runsReaped: CounterLike;
}

type Kind = 'counter' | 'gauge' | 'histogram';

const METHOD: Record<Kind, string> = { counter: 'inc', gauge: 'set', histogram: 'observe' };

/**
 * An existing metric is reused only when it is of the same kind with the same labels;
 * anything else would make every later update throw (or silently mean something else).
 */
function reuse(existing: object, name: string, kind: Kind, labelNames: readonly string[]): void {
  const { type, labelNames: had } = existing as { type?: unknown; labelNames?: unknown };
  const method = (existing as Record<string, unknown>)[METHOD[kind]];
  if ((typeof type === 'string' && type !== kind) || typeof method !== 'function') {
    throw new WarrenError(
      'ERR_INVALID_OPTION',
      `Invalid prometheus option \`registry\`: metric \`${name}\` is already registered as ${typeof type === 'string' ? `a ${type}` : 'something else'}, not a ${kind}`,
      { field: 'registry' },
    );
  }
  if (Array.isArray(had) && (had.length !== labelNames.length || had.some((label, i) => label !== labelNames[i]))) {
    throw new WarrenError(
      'ERR_INVALID_OPTION',
      `Invalid prometheus option \`registry\`: metric \`${name}\` is already registered with labels [${had.join(', ')}], not [${labelNames.join(', ')}]`,
      { field: 'registry' },
    );
  }
}

export function registerMetrics(
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- prom-client's own Registry type, which warren never imports
  client: PromClientLike<any>,
  registry: MetricsRegistryLike,
  prefix: string,
  buckets: number[],
): WarrenMetricSet {
  function get<M>(
    kind: Kind,
    suffix: string,
    help: string,
    labelNames: readonly string[],
    create: (config: MetricConfigLike<MetricsRegistryLike>) => M,
  ): M {
    const name = `${prefix}${suffix}`;
    const existing = registry.getSingleMetric(name);
    if (existing !== undefined && existing !== null) {
      reuse(existing as object, name, kind, labelNames);
      return existing as M;
    }
    return create({ name, help, labelNames, registers: [registry] });
  }
  const counter = (suffix: string, help: string, labels: readonly string[]) =>
    get('counter', suffix, help, labels, (c) => new client.Counter(c));
  return {
    jobDuration: get(
      'histogram',
      'job_duration_seconds',
      'Handler run time of finished job attempts, by outcome (succeeded, retry, dead, timed_out).',
      ['scope', 'job_id', 'status'],
      (c) => new client.Histogram({ ...c, buckets }),
    ),
    runs: counter('runs_total', 'Finished job attempts, by outcome (succeeded, retry, dead, timed_out) and trigger source.', [
      'scope',
      'job_id',
      'status',
      'trigger_source',
    ]),
    retries: counter('retries_total', 'Failed attempts sent back for another attempt by a worker.', ['scope', 'job_id']),
    deadLetters: counter('dead_letters_total', 'Messages a worker sent to a .dead queue, by reason kind.', [
      'scope',
      'queue',
      'reason_kind',
    ]),
    messagesDropped: counter(
      'messages_dropped_total',
      'Trigger messages a worker acknowledged without running them (duplicate, stale_epoch, expired, skipped).',
      ['scope', 'outcome'],
    ),
    leader: get(
      'gauge',
      'leader',
      '1 while this scheduler instance leads its scope, else 0.',
      ['scope', 'instance'],
      (c) => new client.Gauge(c),
    ),
    slotsPublished: counter('slots_published_total', 'Run triggers the leader published (slots, outbox, reseeds, lease retries).', [
      'scope',
      'job_id',
    ]),
    runsReaped: counter('runs_reaped_total', 'Runs whose worker lease expired, retried or failed by the leader.', ['scope', 'job_id']),
  };
}
