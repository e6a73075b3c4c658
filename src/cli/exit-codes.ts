/**
 * The CLI's exit codes, the contract scripts rely on (docs/cli.md), and the mapping from
 * an error to its code. warren's own errors keep their `code`; the CLI adds three of its
 * own for what only a command line has: bad usage, an unreachable service, a surprise.
 */
import { isWarrenError } from '../errors.js';

export const EXIT = {
  ok: 0,
  /** A runtime or unexpected error. */
  failure: 1,
  /** Bad flags, an unknown command, a missing `--scope`, no connection configured. */
  usage: 2,
  /** `ERR_JOB_NOT_FOUND` (or a run). */
  notFound: 3,
  /** A job body or argument the control API refused (`ERR_INVALID_JOB`, `ERR_INVALID_ARGUMENT`). */
  invalid: 4,
  /** PostgreSQL or the admin URL could not be reached (refused, timed out, authentication). */
  unreachable: 5,
  /** The admin API refused the token (`ERR_UNAUTHORIZED`). */
  unauthorized: 6,
} as const;

export type ExitCode = (typeof EXIT)[keyof typeof EXIT];
export type CliErrorCode = 'ERR_USAGE' | 'ERR_UNREACHABLE' | 'ERR_UNEXPECTED';

/** An error the CLI raises itself; `exitCode` is what the process exits with. */
export class CliError extends Error {
  readonly code: CliErrorCode;
  readonly exitCode: ExitCode;
  readonly field: string | undefined;

  constructor(code: CliErrorCode, message: string, options: { field?: string; cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'CliError';
    this.code = code;
    this.exitCode = code === 'ERR_USAGE' ? EXIT.usage : code === 'ERR_UNREACHABLE' ? EXIT.unreachable : EXIT.failure;
    this.field = options.field;
  }
}

export const usage = (message: string, field?: string): CliError =>
  new CliError('ERR_USAGE', message, field === undefined ? {} : { field });

const BY_WARREN_CODE: Record<string, ExitCode> = {
  ERR_JOB_NOT_FOUND: EXIT.notFound,
  ERR_RUN_NOT_FOUND: EXIT.notFound,
  ERR_INVALID_JOB: EXIT.invalid,
  ERR_INVALID_ARGUMENT: EXIT.invalid,
  ERR_DELAY_OUT_OF_RANGE: EXIT.invalid,
  // The options the CLI passes are its flags (`--schema`, `--scope`).
  ERR_INVALID_OPTION: EXIT.usage,
  ERR_UNAUTHORIZED: EXIT.unauthorized,
  // The admin client's: no answer from the admin URL.
  ERR_UNREACHABLE: EXIT.unreachable,
  ERR_TIMEOUT: EXIT.unreachable,
};

/** Socket errors, and the SQLSTATE classes of a connection that never became usable. */
const NET_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_SOCKET',
]);
// 08: connection exception; 28: invalid authorization; 3D000: no such database; 57P03: cannot connect now.
const UNREACHABLE_STATE = /^(08...|28...|3D000|57P03)$/;
const TIMEOUT_MESSAGE = /timeout exceeded when trying to connect|Connection terminated due to connection timeout/i;

/** The error and its causes (and an AggregateError's members: Node's happy-eyeballs connect). */
function* chain(error: unknown, depth = 0): Generator<unknown> {
  if (error === null || error === undefined || depth > 8) return;
  yield error;
  if (typeof error !== 'object') return;
  const { cause, errors } = error as { cause?: unknown; errors?: unknown };
  yield* chain(cause, depth + 1);
  if (Array.isArray(errors)) for (const member of errors) yield* chain(member, depth + 1);
}

export function isUnreachable(error: unknown): boolean {
  for (const link of chain(error)) {
    if (link instanceof CliError) return link.code === 'ERR_UNREACHABLE';
    const code = (link as { code?: unknown } | null)?.code;
    if (typeof code === 'string' && (NET_CODES.has(code) || UNREACHABLE_STATE.test(code))) return true;
    if (link instanceof Error && TIMEOUT_MESSAGE.test(link.message)) return true;
  }
  return false;
}

/** The SQLSTATE of a missing table or schema: the database was never migrated. */
export function isUnmigrated(error: unknown): boolean {
  for (const link of chain(error)) {
    const code = (link as { code?: unknown } | null)?.code;
    if (code === '42P01' || code === '3F000') return true;
  }
  return false;
}

export function exitCodeOf(error: unknown): ExitCode {
  if (error instanceof CliError) return error.exitCode;
  if (isWarrenError(error)) {
    const code = BY_WARREN_CODE[error.code];
    if (code !== undefined) return code;
  }
  if (isUnreachable(error)) return EXIT.unreachable;
  return EXIT.failure;
}
