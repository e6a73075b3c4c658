import { paramsSchema, parseParamsWith } from '../define/define-job.js';
import { isPlainObject } from '../define/job-rules.js';
import type { StandardSchemaV1 } from '../define/standard-schema.js';
import type { JobDefinition, JobHandler } from '../define/types.js';
import { WarrenError, describeValue } from '../errors.js';
import { assertName, assertScope, workQueueName } from '../names.js';
import type { JobRecord, RunRecord } from '../store/port.js';

/** What `worker.handleQueue(queue, handler, options)` accepts besides the queue and handler. */
export interface QueueHandlerOptions<S extends StandardSchemaV1 | undefined = undefined> {
  /**
   * A schema (any Standard Schema: zod, valibot, ArkType, ...) the run's params (the job's stored default params merged under them) must
   * pass before the handler runs; the handler's `params` is then typed by it. A run whose
   * params fail is recorded dead, naming the field, and never reaches the handler.
   * @default none: `params` is `unknown`, passed as stored
   */
  params?: S;
  /** Overrides the worker's scope for this queue (as a definition's `scope` does). */
  scope?: string;
}

/** The params a queue handler sees: typed by its schema, else `unknown`. */
export type QueueParams<S> = S extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<S> : unknown;

/** One queue a worker consumes (the `queues` option): every job routed to it runs `handler`. */
export interface WorkerQueue extends QueueHandlerOptions<StandardSchemaV1 | undefined> {
  /** The queue name as jobs give it (`price-monitor`), without the `{scope}.jobs.` prefix. */
  queue: string;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  handler: JobHandler<any>;
}

/** A handler this worker runs, with its effective scope and work queue. */
export interface Registration {
  /** Builds the handler's `ctx.params` from the claimed run; throws ERR_INVALID_ARGUMENT naming the field. */
  parseParams(run: RunRecord, job: JobRecord): unknown;
  handler: JobHandler<unknown>;
  scope: string;
  /** `{scope}.jobs.{queue}` */
  workQueue: string;
  /** Whose handler it is, for logs: `job scan` or `queue price-monitor`. */
  label: string;
}

const QUEUE_OPTION_KEYS = new Set(['params', 'scope']);

/**
 * The handlers a worker runs: definitions by job id, queue handlers by work queue, and the
 * scope of each work queue. A job's own definition wins over its queue's handler.
 */
export class Handlers {
  readonly #jobs = new Map<string, Registration & { definition: JobDefinition<unknown> }>();
  readonly #queues = new Map<string, Registration>();
  /** Work queue → the scope its messages must carry. */
  readonly #queueScopes = new Map<string, string>();
  /** The scope of handlers registered without one (the worker's). */
  readonly #scope: string;

  constructor(defaults: { scope: string }) {
    this.#scope = defaults.scope;
  }

  get size(): number {
    return this.#jobs.size + this.#queues.size;
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  addDefinition(definition: JobDefinition<any>, handler: JobHandler<any>): void {
    if (
      typeof definition !== 'object' ||
      definition === null ||
      typeof definition.id !== 'string' ||
      typeof definition.parseParams !== 'function'
    ) {
      throw new WarrenError(
        'ERR_INVALID_ARGUMENT',
        `worker.handle: expected a job definition from defineJob(), got ${describeValue(definition)}`,
        { field: 'definition' },
      );
    }
    if (typeof handler !== 'function')
      throw new WarrenError(
        'ERR_INVALID_ARGUMENT',
        `worker.handle(${definition.id}): expected a handler function, got ${describeValue(handler)}`,
        { field: 'handler' },
      );
    if (this.#jobs.has(definition.id))
      throw new WarrenError('ERR_INVALID_ARGUMENT', `worker.handle: job ${definition.id} is already registered`, {
        field: 'definition.id',
      });
    const scope = definition.scope !== undefined ? assertScope(definition.scope, 'definition.scope', 'ERR_INVALID_ARGUMENT') : this.#scope;
    const workQueue = this.#addQueue(scope, definition.config.queue);
    const d = definition as JobDefinition<unknown>;
    this.#jobs.set(d.id, {
      definition: d,
      parseParams: (run) => d.parseParams(run.params),
      handler: handler as JobHandler<unknown>,
      scope,
      workQueue,
      label: `job ${d.id}`,
    });
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  addQueue(queue: string, handler: JobHandler<any>, options: unknown = {}): void {
    const name = assertName(queue, 'queue', 'ERR_INVALID_ARGUMENT');
    if (typeof handler !== 'function')
      throw new WarrenError(
        'ERR_INVALID_ARGUMENT',
        `worker.handleQueue(${name}): expected a handler function, got ${describeValue(handler)}`,
        { field: 'handler' },
      );
    if (!isPlainObject(options))
      throw new WarrenError(
        'ERR_INVALID_ARGUMENT',
        `worker.handleQueue(${name}): expected options { params?, scope? }, got ${describeValue(options)}`,
        { field: 'options' },
      );
    const unknown = Object.keys(options).find((key) => !QUEUE_OPTION_KEYS.has(key));
    if (unknown !== undefined)
      throw new WarrenError('ERR_INVALID_ARGUMENT', `Invalid \`options.${unknown}\`: unknown option (expected params or scope)`, {
        field: `options.${unknown}`,
      });
    const schema = options.params === undefined ? undefined : paramsSchema(options.params, 'options.params', 'ERR_INVALID_ARGUMENT');
    const scope = options.scope === undefined ? this.#scope : assertScope(options.scope, 'options.scope', 'ERR_INVALID_ARGUMENT');
    const workQueue = workQueueName(scope, name);
    if (this.#queues.has(workQueue))
      throw new WarrenError('ERR_INVALID_ARGUMENT', `worker.handleQueue: queue ${workQueue} already has a handler`, { field: 'queue' });
    this.#addQueue(scope, name);
    const owner = `queue \`${name}\``;
    // The run carries the params it was created with; the job's stored defaults fill what it lacks, as a definition's do.
    const parseParams =
      schema === undefined
        ? (run: RunRecord, job: JobRecord) => ({ ...job.params, ...run.params })
        : (run: RunRecord, job: JobRecord) => parseParamsWith(schema, job.params, run.params, owner);
    this.#queues.set(workQueue, { parseParams, handler: handler as JobHandler<unknown>, scope, workQueue, label: `queue ${name}` });
  }

  #addQueue(scope: string, queue: string): string {
    const workQueue = workQueueName(scope, queue);
    this.#queueScopes.set(workQueue, scope);
    return workQueue;
  }

  /** The handler for a message: the job's own definition first, then the handler of the queue it arrived on. */
  find(jobId: string, workQueue: string): Registration | undefined {
    return this.#jobs.get(jobId) ?? this.#queues.get(workQueue);
  }

  definitions(): JobDefinition<unknown>[] {
    return [...this.#jobs.values()].map((r) => r.definition);
  }

  /** Every distinct work queue to consume (several jobs, and a queue handler, may share one). */
  workQueues(): string[] {
    return [...this.#queueScopes.keys()];
  }

  /** The scope messages on this work queue must carry (`undefined`: not a queue of this worker). */
  scopeOf(workQueue: string): string | undefined {
    return this.#queueScopes.get(workQueue);
  }

  /** The queue handlers as `(scope, queue)` pairs, to find the store's jobs routed to them. */
  handledQueues(): Array<{ scope: string; workQueue: string }> {
    return [...this.#queues.values()].map((r) => ({ scope: r.scope, workQueue: r.workQueue }));
  }

  /** Whether a definition here covers this job (its own worker inserts its startup run). */
  hasDefinition(jobId: string): boolean {
    return this.#jobs.has(jobId);
  }
}

/**
 * An entry of an options list (`queues[0]`) is checked by handleQueue; its error is
 * reported as that option's: ``Invalid worker option `queues.0.params`: expected a Standard Schema (zod, valibot, ArkType, ...), got "zod"``.
 */
export function asOptionError(err: unknown, owner: 'worker' | 'harness', prefix: string): unknown {
  if (!(err instanceof WarrenError) || err.field === undefined) return err;
  const field = `${prefix}.${err.field.replace(/^options\./, '')}`;
  return new WarrenError('ERR_INVALID_OPTION', `Invalid ${owner} option \`${field}\`: ${err.message.replace(/^[^:]*: /, '')}`, { field });
}
