/**
 * Schedule math: pure and forward-only. Slots come from cron-parser's `next()` only
 * (its `prev()` skips a day at spring-forward), and the DST rules are applied here, not
 * left to cron-parser: with a `tz`, cron-parser 5.10 skips a whole day when a fixed time
 * falls in a 30-minute gap (Australia/Lord_Howe), drops the repeated quarter hours of a
 * wildcard cron there, runs a fixed time twice in Antarctica/Troll's 2-hour fall-back,
 * and moves a gap slot by the gap's length instead of to the gap's end.
 *
 * So cron-parser walks *wall-clock* time in UTC (where it has no DST to get wrong), and
 * this module maps wall times to instants one constant-offset segment at a time:
 * - wildcard crons (minute or hour field starting with `*`, as Vixie cron decides) fire
 *   at every real instant whose local time matches: twice in a repeated hour, never in a gap;
 * - fixed-time crons fire once in a repeated hour (the first pass) and, when their local
 *   time falls in a spring-forward gap, once at the gap's end (the first valid instant);
 * - `every` is absolute time aligned to the epoch, so every instance computes the same slots.
 */
import { CronExpressionParser, type CronExpression } from 'cron-parser';
import { WarrenError, describeValue } from '../errors.js';
import { parseDuration, type Duration } from '../util/duration.js';
import { DEFAULT_TIME_ZONE, assertTimeZone } from './time-zone.js';
import { nextTransition, tzOffsetMs } from './tz-offsets.js';
import type { DefinedSchedule, JobConfig, NormalizedSchedule, ScheduleSpec } from './types.js';

type ErrorCode = 'ERR_INVALID_JOB' | 'ERR_INVALID_OPTION' | 'ERR_INVALID_ARGUMENT';

const SECOND = 1_000;
const DAY = 86_400_000;
const MACROS = new Set([
  '@yearly',
  '@annually',
  '@monthly',
  '@weekly',
  '@daily',
  '@hourly',
  '@minutely',
  '@secondly',
  '@weekdays',
  '@weekends',
]);
const CRON_RULE = 'a 5- or 6-field cron expression';

function fail(code: ErrorCode, field: string, rule: string, value: unknown): never {
  throw new WarrenError(code, `Invalid \`${field}\`: expected ${rule}, got ${describeValue(value)}`, { field });
}

// ---------------------------------------------------------------------------
// Validation

function cronFields(cron: string): string[] | undefined {
  const text = cron.trim();
  if (MACROS.has(text.toLowerCase())) return undefined;
  return text.split(/\s+/);
}

/** Vixie cron's rule: a cron whose minute or hour field starts with `*` follows absolute time. */
function isWildcardCron(cron: string): boolean {
  const text = cron.trim().toLowerCase();
  if (MACROS.has(text)) return text === '@hourly' || text === '@minutely' || text === '@secondly';
  const fields = text.split(/\s+/);
  const offset = fields.length === 6 ? 1 : 0;
  return (fields[offset] ?? '').startsWith('*') || (fields[offset + 1] ?? '').startsWith('*');
}

function parseWallCron(cron: string, wallExclusive: number): CronExpression {
  return CronExpressionParser.parse(cron.trim(), { tz: 'UTC', currentDate: new Date(wallExclusive) });
}

/** A period (`every`, the seed's `interval_seconds`): a whole number of seconds >= 1s, in ms. */
export function validatePeriod(value: unknown, field: string, code: ErrorCode): number {
  const ms = typeof value === 'number' && value <= 0 ? 0 : parseDuration(value, field, code);
  if (ms < SECOND || ms % SECOND !== 0) return fail(code, field, 'a whole number of seconds >= 1s', value);
  return ms;
}

/**
 * Validates a schedule as written in a spec. `field` is the schedule's path (`schedule`);
 * errors name `schedule.cron`, `schedule.tz` or `schedule.every`. A cron without `tz` is
 * left without one: the default time zone applies when the job is stored (time-zone.ts).
 */
export function validateSchedule(
  spec: { cron: string; tz: string } | { every: Duration },
  field?: string,
  code?: ErrorCode,
): NormalizedSchedule;
export function validateSchedule(spec: ScheduleSpec, field?: string, code?: ErrorCode): DefinedSchedule;
export function validateSchedule(spec: ScheduleSpec, field = 'schedule', code: ErrorCode = 'ERR_INVALID_JOB'): DefinedSchedule {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) {
    return fail(code, field, '{ cron, tz? } or { every }', spec);
  }
  const raw = spec as Record<string, unknown>;
  const hasCron = raw.cron !== undefined;
  const hasEvery = raw.every !== undefined;
  if (hasCron === hasEvery) return fail(code, field, 'exactly one of `cron` or `every`', spec);
  for (const key of Object.keys(raw)) {
    const allowed = hasCron ? ['cron', 'tz'] : ['every'];
    if (!allowed.includes(key)) fail(code, `${field}.${key}`, `no such field (${hasCron ? '`cron` and `tz`' : '`every`'} only)`, raw[key]);
  }
  if (hasEvery) return { kind: 'every', everyMs: validatePeriod(raw.every, `${field}.every`, code) };
  const cronField = `${field}.cron`;
  const cron = raw.cron;
  if (typeof cron !== 'string') return fail(code, cronField, CRON_RULE, cron);
  const fields = cronFields(cron);
  if (fields !== undefined && fields.length !== 5 && fields.length !== 6) return fail(code, cronField, CRON_RULE, cron);
  // cron-parser's `H` picks a random value when no hash seed is given: instances would disagree.
  if (/(^|[\s,/-])h(?![a-z])/i.test(fields?.join(' ') ?? '')) return fail(code, cronField, `${CRON_RULE} without \`H\``, cron);
  let expression: CronExpression;
  try {
    expression = parseWallCron(cron, Date.UTC(2000, 0, 1));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new WarrenError(code, `Invalid \`${cronField}\`: expected ${CRON_RULE} (${reason}), got ${describeValue(cron)}`, {
      field: cronField,
      cause: error,
    });
  }
  try {
    expression.next();
  } catch (error) {
    throw new WarrenError(code, `Invalid \`${cronField}\`: expected a cron expression that matches some date, got ${describeValue(cron)}`, {
      field: cronField,
      cause: error,
    });
  }
  const normalized = fields === undefined ? cron.trim().toLowerCase() : fields.join(' ');
  if (raw.tz === undefined) return { kind: 'cron', cron: normalized };
  return { kind: 'cron', cron: normalized, tz: assertTimeZone(raw.tz, `${field}.tz`, code) };
}

// ---------------------------------------------------------------------------
// Slots

/** Cron slots strictly after `after`, in increasing order, under the DST rules above. */
function* cronSlots(cron: string, tz: string, after: number): Generator<number, void, undefined> {
  const wildcard = isWildcardCron(cron);
  let cursor = after;
  let offset = tzOffsetMs(tz, cursor);
  let wallExclusive = cursor + offset;
  if (!wildcard) {
    // A fixed-time cron already ran a repeated hour's times in the first pass: when `after`
    // sits in the second pass, start past the repeated wall times.
    const previous = nextTransition(tz, cursor - DAY, cursor);
    if (previous !== null) {
      const before = tzOffsetMs(tz, previous - SECOND);
      const now = tzOffsetMs(tz, previous);
      if (before > now) wallExclusive = Math.max(wallExclusive, previous + before - 1);
    }
  }
  let expression = parseWallCron(cron, wallExclusive);
  let last = after;
  for (;;) {
    let wall: number;
    try {
      wall = expression.next().getTime();
    } catch {
      return; // no further match (cron-parser's loop limit)
    }
    const candidate = wall - offset;
    const transition = nextTransition(tz, cursor, candidate);
    if (transition === null) {
      if (candidate > last) {
        last = candidate;
        yield candidate;
      }
      cursor = candidate;
      continue;
    }
    // No match in [cursor, transition): handle the offset change at `transition`.
    const next = tzOffsetMs(tz, transition);
    if (next > offset) {
      // Spring forward: wall times [transition+offset, transition+next) do not exist.
      if (!wildcard && wall < transition + next && transition > last) {
        last = transition;
        yield transition;
      }
      wallExclusive = transition + next - 1;
    } else {
      // Fall back: wall times [transition+next, transition+offset) happen again.
      wallExclusive = wildcard ? transition + next - 1 : transition + offset - 1;
    }
    cursor = transition;
    offset = next;
    expression = parseWallCron(cron, wallExclusive);
  }
}

function* everySlots(everyMs: number, after: number): Generator<number, void, undefined> {
  for (let k = Math.floor(after / everyMs) + 1; ; k++) yield k * everyMs;
}

function slots(schedule: NormalizedSchedule, after: number): Generator<number, void, undefined> {
  return schedule.kind === 'every' ? everySlots(schedule.everyMs, after) : cronSlots(schedule.cron, schedule.tz, after);
}

function assertDate(value: Date, field: string): number {
  const ms = value instanceof Date ? value.getTime() : Number.NaN;
  if (!Number.isFinite(ms)) fail('ERR_INVALID_ARGUMENT', field, 'a valid Date', value);
  return ms;
}

/** The `n` slots strictly after `after`, in increasing order. */
export function nextRuns(schedule: NormalizedSchedule, after: Date, n: number): Date[] {
  const from = assertDate(after, 'after');
  const out: Date[] = [];
  if (n <= 0) return out;
  for (const slot of slots(schedule, from)) {
    out.push(new Date(slot));
    if (out.length >= n) break;
  }
  return out;
}

/** The first slot strictly after `after`. Throws when the schedule has no further slot. */
export function nextRun(schedule: NormalizedSchedule, after: Date): Date {
  const [slot] = nextRuns(schedule, after, 1);
  if (slot === undefined)
    throw new WarrenError('ERR_INVALID_ARGUMENT', `Schedule ${describeValue(schedule)} has no slot after ${after.toISOString()}`);
  return slot;
}

/** Slots in (afterExclusive, untilInclusive], at most `limit` of them (the earliest). */
export function slotsBetween(schedule: NormalizedSchedule, afterExclusive: Date, untilInclusive: Date, limit: number): Date[] {
  const from = assertDate(afterExclusive, 'afterExclusive');
  const until = assertDate(untilInclusive, 'untilInclusive');
  const out: Date[] = [];
  if (limit <= 0 || until <= from) return out;
  for (const slot of slots(schedule, from)) {
    if (slot > until) break;
    out.push(new Date(slot));
    if (out.length >= limit) break;
  }
  return out;
}

/** Milliseconds from `slot` to the following slot (for cron, it varies across DST and weekdays). */
export function periodAt(schedule: NormalizedSchedule, slot: Date): number {
  if (schedule.kind === 'every') return schedule.everyMs;
  return nextRun(schedule, slot).getTime() - assertDate(slot, 'slot');
}

/**
 * The shortest gap between the first slots after a fixed reference instant: a stable
 * "period" for defaults (catch-up window) that does not depend on when the code runs.
 */
export function typicalPeriod(schedule: DefinedSchedule): number {
  if (schedule.kind === 'every') return schedule.everyMs;
  // Defaults are settled at define time, before the default zone is known; the shortest gap
  // of a cron's first slots is the same in any zone away from a DST change.
  const tz = schedule.tz ?? DEFAULT_TIME_ZONE;
  const key = `${tz} ${schedule.cron}`;
  const known = typicalPeriods.get(key);
  if (known !== undefined) return known;
  const runs = nextRuns({ ...schedule, tz }, new Date(Date.UTC(2025, 0, 6)), 4);
  let best = Number.POSITIVE_INFINITY;
  for (let i = 1; i < runs.length; i++) best = Math.min(best, runs[i]!.getTime() - runs[i - 1]!.getTime());
  const period = Number.isFinite(best) ? best : DAY;
  // cron-parser takes milliseconds per slot of a sparse cron (a yearly one steps day by day):
  // 10,000 jobs sharing a few crons compute each once (issue #10). Bounded: crons are few.
  if (typicalPeriods.size >= 1000) typicalPeriods.clear();
  typicalPeriods.set(key, period);
  return period;
}

/** typicalPeriod's answers by zone and cron (a pure function of both). */
const typicalPeriods = new Map<string, number>();

/**
 * When a trigger for `slot` goes stale (recorded `expired` instead of run), or null for
 * never. Runs outside the schedule (manual, startup, backfill: `adhoc`) have no period to
 * measure, so they only expire under a fixed `staleAfter`.
 */
export function staleAtFor(config: Pick<JobConfig, 'stale' | 'schedule'>, slot: Date, adhoc: boolean): Date | null {
  const stale = config.stale;
  const at = assertDate(slot, 'slot');
  if (stale.kind === 'never') return null;
  if (stale.kind === 'fixed') return new Date(at + stale.ms);
  if (adhoc || config.schedule === null) return null;
  return new Date(at + Math.round(stale.ratio * periodAt(config.schedule, slot)));
}

/**
 * Queue mode: the next run after a run completed at `completedAt`. `every` waits the
 * period after completion (fixed delay); a cron takes the next cron slot (a cron is a
 * cron in both modes).
 */
export function nextChainRun(config: Pick<JobConfig, 'schedule'>, completedAt: Date): Date {
  const schedule = config.schedule;
  if (schedule === null)
    throw new WarrenError('ERR_INVALID_ARGUMENT', 'nextChainRun: the job has no schedule to chain on', { field: 'schedule' });
  if (schedule.kind === 'every') return new Date(assertDate(completedAt, 'completedAt') + schedule.everyMs);
  return nextRun(schedule, completedAt);
}

/**
 * Where a queue-mode chain restarts when it has no slot of its own to run (resume, a broken
 * chain whose overdue link is gone): a cron at its next slot, `every` at once (fixed delay).
 */
export function chainRestartAt(schedule: NormalizedSchedule, now: Date): Date {
  return schedule.kind === 'every' ? new Date(assertDate(now, 'now')) : nextRun(schedule, now);
}
