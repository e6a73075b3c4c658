/**
 * `createAdminClient(options)`: the control API (`Control`) over the admin REST API that
 * `createAdminHandler` serves, so a bot, a CLI or another service steers the jobs of a fleet
 * with a URL and a token, no database credentials. Results are the same records as
 * in-process (Dates revived), errors the same `WarrenError` codes. Only `fetch`: no Node
 * server code, so a bundler can take this file alone.
 */
import { WarrenError, describeValue, isWarrenError, type WarrenErrorCode } from '../errors.js';
import { assertName } from '../names.js';
import type {
  ActorOption,
  AuditOptions,
  BackfillOptions,
  BackfillResult,
  Control,
  JobDetails,
  JobStatus,
  PauseOptions,
  RunNowOptions,
  RunsOptions,
} from '../scheduler/control-types.js';
import type { AuditEntry, RunRecord } from '../store/port.js';
import { formatDuration } from '../util/duration.js';
import { parseAdminClientOptions, type AdminClientOptions, type FetchLike, type ResolvedAdminClientOptions } from './client-options.js';
import { ShapeError, listOf, reviveAudit, reviveBackfill, reviveDetails, reviveRun, reviveStatus } from './revive.js';
import { ACTOR_HEADER } from './wire.js';

export type { AdminClientOptions } from './client-options.js';

type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

interface Call {
  method: HttpMethod;
  path: string;
  query?: URLSearchParams;
  body?: unknown;
  actor?: string | null | undefined;
}

/** How much of an unexpected answer an error quotes. */
const EXCERPT = 200;

function argError(field: string, rule: string, value: unknown): WarrenError {
  return new WarrenError('ERR_INVALID_ARGUMENT', `Invalid \`${field}\`: expected ${rule}, got ${describeValue(value)}`, { field });
}

/** The path segment of a job id, checked as the control API checks it. */
function jobPath(id: unknown, ...rest: string[]): string {
  if (typeof id !== 'string' || id.length === 0) throw argError('id', 'a job id', id);
  // URLs resolve "." and ".." segments away (even percent-encoded): the store refuses such ids anyway.
  if (id === '.' || id === '..') assertName(id, 'jobId', 'ERR_INVALID_ARGUMENT');
  return ['/jobs', encodeURIComponent(id), ...rest].join('/');
}

/** A Date as the admin API takes it; a string or any other value as given, for the server to judge. */
function instant(value: unknown, field: string): unknown {
  if (!(value instanceof Date)) return value;
  if (Number.isNaN(value.getTime())) throw argError(field, 'a Date or an ISO-8601 timestamp', value);
  return value.toISOString();
}

export class AdminClient implements Control, AsyncDisposable {
  readonly #o: ResolvedAdminClientOptions;
  readonly #fetch: FetchLike;
  readonly #inFlight = new Set<AbortController>();
  #closed = false;

  constructor(options: AdminClientOptions) {
    this.#o = parseAdminClientOptions(options);
    const fetchFn = this.#o.fetch ?? (globalThis.fetch as FetchLike | undefined);
    if (typeof fetchFn !== 'function')
      throw new WarrenError(
        'ERR_INVALID_OPTION',
        'Invalid admin client option `fetch`: expected a fetch function (this runtime has no global fetch)',
        { field: 'fetch' },
      );
    this.#fetch = fetchFn;
  }

  /** The admin API's base URL (without credentials). */
  get url(): string {
    return this.#o.url;
  }

  async list(): Promise<JobStatus[]> {
    return this.#call({ method: 'GET', path: '/jobs' }, (value) => listOf(value, 'jobs', reviveStatus));
  }

  async get(id: string): Promise<JobDetails> {
    return this.#call({ method: 'GET', path: jobPath(id) }, reviveDetails);
  }

  async upsert(body: unknown, options: ActorOption = {}): Promise<JobDetails> {
    return this.#call({ method: 'POST', path: '/jobs', body, actor: options.actor }, reviveDetails);
  }

  async update(id: string, patch: unknown, options: ActorOption = {}): Promise<JobDetails> {
    return this.#call({ method: 'PATCH', path: jobPath(id), body: patch, actor: options.actor }, reviveDetails);
  }

  async remove(id: string, options: ActorOption = {}): Promise<void> {
    await this.#call({ method: 'DELETE', path: jobPath(id), actor: options.actor }, () => undefined);
  }

  async pause(id: string, options: PauseOptions = {}): Promise<JobDetails> {
    const body = options.note === undefined ? {} : { note: options.note };
    return this.#call({ method: 'POST', path: jobPath(id, 'pause'), body, actor: options.actor }, reviveDetails);
  }

  async resume(id: string, options: ActorOption = {}): Promise<JobDetails> {
    return this.#call({ method: 'POST', path: jobPath(id, 'resume'), body: {}, actor: options.actor }, reviveDetails);
  }

  async runNow(id: string, options: RunNowOptions = {}): Promise<RunRecord> {
    const body: Record<string, unknown> = {};
    if (options.params !== undefined) body.params = options.params;
    if (options.delay !== undefined) body.delay = options.delay;
    return this.#call({ method: 'POST', path: jobPath(id, 'run-now'), body, actor: options.actor }, (value) => reviveRun(value));
  }

  async runs(id: string, options: RunsOptions = {}): Promise<RunRecord[]> {
    const query = new URLSearchParams();
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    if (options.status !== undefined) query.set('status', ([] as unknown[]).concat(options.status).map(String).join(','));
    return this.#call({ method: 'GET', path: jobPath(id, 'runs'), query }, (value) => listOf(value, 'runs', reviveRun));
  }

  async backfill(id: string, options: BackfillOptions): Promise<BackfillResult> {
    const path = jobPath(id, 'backfill');
    if (typeof options !== 'object' || options === null || Array.isArray(options)) throw argError('options', '{ from, to }', options);
    const body = { from: instant(options.from, 'from'), to: instant(options.to, 'to') };
    return this.#call({ method: 'POST', path, body, actor: options.actor }, reviveBackfill);
  }

  async audit(options: AuditOptions = {}): Promise<AuditEntry[]> {
    const query = new URLSearchParams();
    if (options.jobId !== undefined) query.set('jobId', String(options.jobId));
    if (options.limit !== undefined) query.set('limit', String(options.limit));
    return this.#call({ method: 'GET', path: '/audit', query }, (value) => listOf(value, 'entries', reviveAudit));
  }

  /** Aborts the calls in flight (they fail with ERR_CLOSED) and refuses new ones. */
  async close(): Promise<void> {
    this.#closed = true;
    for (const controller of this.#inFlight) controller.abort();
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  // ── the one request path ─────────────────────────────────────────────────

  /** Sends one request; `read` turns the success body into the result (a wrong shape: ERR_UNEXPECTED_RESPONSE). */
  async #call<T>(call: Call, read: (value: unknown) => T): Promise<T> {
    if (this.#closed) throw new WarrenError('ERR_CLOSED', 'The admin client is closed');
    const query = call.query?.toString() ?? '';
    const target = `${this.#o.url}${call.path}${query === '' ? '' : `?${query}`}`;
    const label = `${call.method} ${this.#o.url}${call.path}`;
    const headers: Record<string, string> = { accept: 'application/json', ...this.#o.headers };
    if (this.#o.token !== undefined) headers.authorization = `Bearer ${this.#o.token}`;
    if (call.actor) headers[ACTOR_HEADER] = encodeURIComponent(call.actor);
    let body: string | undefined;
    if (call.body !== undefined) {
      body = stringify(call.body);
      headers['content-type'] = 'application/json';
    }
    const controller = new AbortController();
    let timedOut = false;
    // Wall-clock on purpose: a network timeout, not scheduling logic.
    const timer = setTimeout(() => {
      timedOut = true;
      controller.abort();
    }, this.#o.timeout);
    this.#inFlight.add(controller);
    try {
      const response = await this.#fetch(target, {
        method: call.method,
        headers,
        signal: controller.signal,
        ...(body === undefined ? {} : { body }),
      });
      const text = await response.text();
      return read(answer(response, text, label));
    } catch (error) {
      if (isWarrenError(error)) throw error;
      if (error instanceof ShapeError)
        throw new WarrenError('ERR_UNEXPECTED_RESPONSE', `${label}: ${error.message}, not an answer of the warren admin API`, {
          cause: error,
        });
      if (timedOut)
        throw new WarrenError('ERR_TIMEOUT', `${label}: no answer within ${formatDuration(this.#o.timeout)}`, {
          cause: error,
          details: { url: this.#o.url },
        });
      if (this.#closed) throw new WarrenError('ERR_CLOSED', `${label}: the admin client was closed`, { cause: error });
      throw new WarrenError('ERR_UNREACHABLE', `${label}: the admin API could not be reached (${reason(error)})`, {
        cause: error,
        details: { url: this.#o.url },
      });
    } finally {
      clearTimeout(timer);
      this.#inFlight.delete(controller);
    }
  }
}

/** A success body, or the server's error rebuilt as a WarrenError. */
function answer(response: Response, text: string, label: string): unknown {
  const unexpected = (what: string): WarrenError =>
    new WarrenError('ERR_UNEXPECTED_RESPONSE', `${label}: HTTP ${response.status} ${what}, not an answer of the warren admin API`, {
      details: { status: response.status, contentType: response.headers.get('content-type'), body: text.slice(0, EXCERPT) },
    });
  if (response.status === 204) return undefined;
  const type = response.headers.get('content-type') ?? '';
  if (!/^application\/(?:[\w.+-]+\+)?json\b/i.test(type))
    throw unexpected(`with ${type === '' ? 'no content type' : JSON.stringify(type)}`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw unexpected('with a body that is not JSON');
  }
  if (response.ok) return parsed;
  const error = (parsed as { error?: { code?: unknown; message?: unknown; field?: unknown } } | null)?.error;
  if (typeof error?.code !== 'string' || !/^ERR_[A-Z0-9_]+$/.test(error.code) || typeof error.message !== 'string')
    throw unexpected("with an error body that is not warren's");
  // A newer server may answer a code this version does not list; it is passed on as is.
  throw new WarrenError(error.code as WarrenErrorCode, error.message, {
    ...(typeof error.field === 'string' ? { field: error.field } : {}),
    details: { status: response.status },
  });
}

function stringify(body: unknown): string {
  try {
    const text = JSON.stringify(body);
    if (text !== undefined) return text;
  } catch {
    // falls through: a cycle or a BigInt
  }
  throw argError('(body)', 'a JSON value', body);
}

/** The system error code undici hides in `cause` (ECONNREFUSED, ENOTFOUND, …), else the message. */
function reason(error: unknown): string {
  const cause = (error as { cause?: { code?: unknown; message?: unknown } } | null)?.cause;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return (error as Error)?.message ?? String(error);
}

/** Validates the options at once (a bad one throws `ERR_INVALID_OPTION` naming it) and returns the client. */
export function createAdminClient(options: AdminClientOptions): AdminClient {
  return new AdminClient(options);
}
