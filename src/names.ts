/**
 * Every broker and database name warren derives, in one place, so a scope can never see
 * another's queues and the topology is declared from the same names it is used with.
 */
import { WarrenError, describeValue } from './errors.js';

/** A job id or queue name. RabbitMQ rejects queue names over 255 bytes and reserves the `amq.` prefix. */
export const NAME = /^[a-z0-9][a-z0-9._-]{0,99}$/;
export const NAME_RULE = '1-100 characters of a-z, 0-9, ".", "_" or "-" starting with a letter or digit (and not "amq.")';
/** A scope (`mock`, `real`): no dots, so `{scope}.jobs.{queue}` splits at its first dot. */
export const SCOPE = /^[a-z0-9][a-z0-9_-]{0,39}$/;
export const SCOPE_RULE = '1-40 characters of a-z, 0-9, "_" or "-" starting with a letter or digit';
/** A Postgres schema: lower-case identifiers only, so the name needs no case folding and fits in 63 bytes. */
export const SCHEMA_NAME = /^[a-z_][a-z0-9_]{0,62}$/;
export const SCHEMA_RULE = 'a lower-case Postgres identifier (a-z, 0-9, "_", not starting with a digit, at most 63 characters)';

export function assertName(value: unknown, field: string, code: 'ERR_INVALID_JOB' | 'ERR_INVALID_OPTION' | 'ERR_INVALID_ARGUMENT'): string {
  if (typeof value !== 'string' || !NAME.test(value) || value.startsWith('amq.')) {
    throw new WarrenError(code, `Invalid \`${field}\`: expected ${NAME_RULE}, got ${describeValue(value)}`, { field });
  }
  return value;
}

export function assertScope(
  value: unknown,
  field = 'scope',
  code: 'ERR_INVALID_JOB' | 'ERR_INVALID_OPTION' | 'ERR_INVALID_ARGUMENT' = 'ERR_INVALID_OPTION',
): string {
  if (typeof value !== 'string' || !SCOPE.test(value)) {
    throw new WarrenError(code, `Invalid \`${field}\`: expected ${SCOPE_RULE}, got ${describeValue(value)}`, { field });
  }
  return value;
}

/** The work queue of a job queue in a scope: `{scope}.jobs.{queue}` (the seed's naming). */
export function workQueueName(scope: string, queue: string): string {
  return `${scope}.jobs.${queue}`;
}

/** Where a work queue's poison and exhausted messages go, with the reason in headers. */
export function deadQueueName(workQueue: string): string {
  return `${workQueue}.dead`;
}

/** The prefix of a scope's delay topology exchanges and queues. */
export function delayPrefix(scope: string): string {
  return `${scope}.delay`;
}

/** Postgres NOTIFY channel for job changes (identifiers are limited to 63 bytes). */
export function notifyChannel(schema: string): string {
  return `warren_jobs_${schema}`.slice(0, 63);
}

/** The default Postgres schema. */
export const DEFAULT_SCHEMA = 'scheduler';
