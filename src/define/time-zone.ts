/**
 * Time zones of cron schedules. A cron defined without `tz` takes the default time zone of
 * the component that writes the job to the store: the scheduler's `timezone` option (jobs
 * created or changed through the control API, code definitions it syncs) or the worker's
 * (code definitions it syncs). The resolved zone is stored on the job row, so every later
 * computation (the leader's slots, a worker's chain links, staleness) reads one zone.
 */
import { z } from 'zod';
import { WarrenError, describeValue } from '../errors.js';
import type { DefinedJobConfig, DefinedSchedule, JobConfig, NormalizedSchedule } from './types.js';

/** The default of the scheduler's and the worker's `timezone` option. */
export const DEFAULT_TIME_ZONE = 'UTC';

export const TIME_ZONE_RULE = 'an IANA time zone such as "Asia/Seoul"';

/** The canonical IANA name of `tz`, or undefined when Intl does not know it. */
export function canonicalTimeZone(tz: unknown): string | undefined {
  if (typeof tz !== 'string' || tz.trim() === '') return undefined;
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz.trim() }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/** The canonical name of `tz`; throws `code` naming `field` when it is no IANA zone. */
export function assertTimeZone(
  tz: unknown,
  field: string,
  code: 'ERR_INVALID_JOB' | 'ERR_INVALID_OPTION' | 'ERR_INVALID_ARGUMENT',
): string {
  const canonical = canonicalTimeZone(tz);
  if (canonical === undefined)
    throw new WarrenError(code, `Invalid \`${field}\`: expected ${TIME_ZONE_RULE}, got ${describeValue(tz)}`, { field });
  return canonical;
}

/** The `timezone` option of the scheduler and the worker, canonicalised. @default 'UTC' */
export const timeZoneOption = z
  .custom<string>((value) => typeof value === 'string', { error: TIME_ZONE_RULE })
  .transform((value, ctx) => {
    const canonical = canonicalTimeZone(value);
    if (canonical === undefined) {
      ctx.addIssue({ code: 'custom', message: TIME_ZONE_RULE, input: value });
      return z.NEVER;
    }
    return canonical;
  })
  .default(DEFAULT_TIME_ZONE);

/** A defined schedule as stored: a cron without `tz` gets `defaultTz`. */
export function resolveSchedule(schedule: DefinedSchedule | null, defaultTz: string): NormalizedSchedule | null {
  if (schedule === null || schedule.kind === 'every') return schedule;
  return { kind: 'cron', cron: schedule.cron, tz: schedule.tz ?? defaultTz };
}

/** A defined config (or patch) as stored: its cron's tz resolved with `defaultTz`. */
export function resolveConfig(config: DefinedJobConfig, defaultTz: string): JobConfig;
export function resolveConfig(config: Partial<DefinedJobConfig>, defaultTz: string): Partial<JobConfig>;
export function resolveConfig(config: Partial<DefinedJobConfig>, defaultTz: string): Partial<JobConfig> {
  const { schedule, ...rest } = config;
  return schedule === undefined ? rest : { ...rest, schedule: resolveSchedule(schedule, defaultTz) };
}
