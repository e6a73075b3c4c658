/**
 * One way to write a log line, for every warren component: always to its `debug`
 * namespace (`DEBUG=warren:*`), and to the host's logger when one is given, in the argument
 * order that logger expects. pino and bunyan take `(fields, message)`; winston, console and
 * most others take `(message, fields)`: given the wrong order, pino drops the fields.
 */
import type { Debugger } from 'debug';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/**
 * How warren calls the host's logger: `'pino'` → `logger.info(fields, message)` (pino,
 * bunyan); `'winston'` → `logger.info(message, fields)` (winston, console, consola, ...);
 * `'auto'` tells pino and bunyan instances apart by their shape and uses `'winston'` for
 * anything else.
 */
export type LoggerStyle = 'pino' | 'winston' | 'auto';

export const LOGGER_STYLES = ['auto', 'pino', 'winston'] as const;

/** A logger the host passes in: pino, winston, bunyan, console, ... Methods it lacks are skipped. */
export interface HostLogger {
  debug?(...args: never[]): unknown;
  info?(...args: never[]): unknown;
  warn?(...args: never[]): unknown;
  error?(...args: never[]): unknown;
}

/** What warren writes through: a message and structured fields. */
export interface Log {
  debug(message: string, fields?: Record<string, unknown>): void;
  info(message: string, fields?: Record<string, unknown>): void;
  warn(message: string, fields?: Record<string, unknown>): void;
  error(message: string, fields?: Record<string, unknown>): void;
  /** A log whose every line also carries `fields`. */
  child(fields: Record<string, unknown>): Log;
}

/** `'pino'` for a pino or bunyan instance, `'winston'` for anything else. */
export function detectLoggerStyle(logger: unknown): 'pino' | 'winston' {
  if (typeof logger !== 'object' || logger === null) return 'winston';
  const l = logger as Record<string, unknown>;
  const levels = l.levels as { values?: unknown } | undefined;
  // pino: `bindings()` and `levels.values`; winston has `levels` too, but as a flat map and no `bindings`.
  if (typeof l.bindings === 'function' && typeof levels === 'object' && levels !== null && typeof levels.values === 'object') return 'pino';
  // bunyan: `addStream()` and its `fields`.
  if (typeof l.addStream === 'function' && typeof l.fields === 'object') return 'pino';
  return 'winston';
}

export interface CreateLogOptions {
  /** The component's debug namespace, written whatever the host logger. */
  debug: Debugger;
  logger?: HostLogger | undefined;
  /** @default 'auto' */
  style?: LoggerStyle | undefined;
  /** Fields every line carries. */
  fields?: Record<string, unknown>;
}

/** A Log writing to `debug` and the host's logger. A host logger that throws never breaks the caller. */
export function createLog(options: CreateLogOptions): Log {
  const host = options.logger;
  const style = options.style === undefined || options.style === 'auto' ? detectLoggerStyle(host) : options.style;
  return build(options.debug, host, style, withoutBound(host, options.fields ?? {}));
}

/**
 * Drops the fields a pino (or bunyan-like) logger already binds with the same value: pino
 * writes its bindings and the call's fields side by side, so a host logger created with
 * `{ scope }` would otherwise print `"scope"` twice on every warren line.
 */
function withoutBound(host: HostLogger | undefined, fields: Record<string, unknown>): Record<string, unknown> {
  const bindings = (host as { bindings?: () => unknown } | undefined)?.bindings;
  if (typeof bindings !== 'function') return fields;
  let bound: unknown;
  try {
    bound = bindings.call(host);
  } catch {
    return fields;
  }
  if (typeof bound !== 'object' || bound === null) return fields;
  const kept: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(fields)) {
    if (!Object.is((bound as Record<string, unknown>)[key], value)) kept[key] = value;
  }
  return kept;
}

function build(debug: Debugger, host: HostLogger | undefined, style: 'pino' | 'winston', base: Record<string, unknown>): Log {
  const write = (level: LogLevel) => (message: string, fields?: Record<string, unknown>) => {
    const method = host?.[level] as ((...args: unknown[]) => unknown) | undefined;
    const hosted = typeof method === 'function';
    // Nothing listens (the worker's per-run debug line, with DEBUG unset and no host logger): build nothing.
    if (!hosted && !debug.enabled) return;
    const all = fields === undefined ? base : { ...base, ...fields };
    debug('%s %s %o', level, message, all);
    if (!hosted) return;
    try {
      if (style === 'pino') method.call(host, all, message);
      else method.call(host, message, all);
    } catch {
      // a throwing host logger must not break a run, a tick or a request
    }
  };
  const log: Log = {
    debug: write('debug'),
    info: write('info'),
    warn: write('warn'),
    error: write('error'),
    // With no host logger and `debug` off nothing is ever written: a child would only be
    // allocated (one per run on the worker's hot path) to stay silent. A `debug` enabled
    // later gives lines without the child's fields for the logs made before it.
    child: (fields) => (host === undefined && !debug.enabled ? log : build(debug, host, style, { ...base, ...fields })),
  };
  return log;
}
