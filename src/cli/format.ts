/**
 * Human-readable renderings for the terminal: aligned tables and key/value blocks, times
 * in one time zone (`--tz`, default UTC) written with their offset so a line pasted
 * elsewhere stays unambiguous. Stored strings (descriptions, pause notes, run errors,
 * params) are written by whoever steers the fleet, so control characters are shown
 * escaped: an ANSI sequence in a note must not repaint the operator's terminal.
 */
import type { NormalizedSchedule } from '../define/types.js';
import type { AuditEntry, JobRecord, RunRecord } from '../store/port.js';
import type { JobDetails, JobStatus } from '../scheduler/control-types.js';
import { formatDuration } from '../util/duration.js';
import { usage } from './exit-codes.js';

export type TimeFormat = (value: Date | string | null | undefined) => string;

// C0 controls, DEL and C1 controls (0x9b is a one-byte CSI on some terminals).
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** Control characters as `\x1b`-style escapes; everything else unchanged. */
export function safeText(value: string): string {
  return value.replace(CONTROL, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
}

function clip(value: string, max: number): string {
  return value.length > max ? `${value.slice(0, max - 3)}...` : value;
}

/** Validates `tz` (an IANA zone) and returns a formatter: `2026-03-02 09:00:00+09:00`, `... 00:00:00Z` in UTC. */
export function timeFormat(tz: string): TimeFormat {
  let parts: Intl.DateTimeFormat;
  try {
    parts = new Intl.DateTimeFormat('en-US', {
      timeZone: tz,
      hourCycle: 'h23',
      year: 'numeric',
      month: '2-digit',
      day: '2-digit',
      hour: '2-digit',
      minute: '2-digit',
      second: '2-digit',
      timeZoneName: 'longOffset',
    });
  } catch {
    throw usage(`Invalid \`--tz\`: expected an IANA time zone such as "UTC" or "Asia/Seoul", got ${JSON.stringify(tz)}`, 'tz');
  }
  return (value) => {
    if (value === null || value === undefined) return '-';
    const date = value instanceof Date ? value : new Date(value);
    if (Number.isNaN(date.getTime())) return safeText(String(value));
    const p = Object.fromEntries(parts.formatToParts(date).map((part) => [part.type, part.value]));
    const offset = (p.timeZoneName ?? '').replace(/^GMT/, '');
    return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}:${p.second}${offset === '' || offset === '+00:00' ? 'Z' : offset}`;
  };
}

/** Left-aligned columns, two spaces apart, a header row; `(none)` for no rows. */
export function table(headers: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  if (rows.length === 0) return '(none)';
  const cells = [headers, ...rows].map((row) => row.map((cell) => safeText(cell)));
  const widths = headers.map((_, i) => Math.max(...cells.map((row) => row[i]?.length ?? 0)));
  return cells
    .map((row) =>
      row
        .map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

/** `label: value` lines, values aligned. */
export function block(entries: ReadonlyArray<readonly [string, string]>): string {
  const width = Math.max(...entries.map(([label]) => label.length)) + 1;
  return entries.map(([label, value]) => `${`${label}:`.padEnd(width)} ${safeText(value)}`).join('\n');
}

export function scheduleText(schedule: NormalizedSchedule | null, reschedule?: string): string {
  if (schedule === null) return 'on demand';
  const base =
    schedule.kind === 'every'
      ? `every ${formatDuration(schedule.everyMs)}`
      : schedule.tz === 'UTC'
        ? `cron ${schedule.cron}`
        : `cron ${schedule.cron} (${schedule.tz})`;
  return reschedule === 'queue' ? `${base}, queue mode` : base;
}

function state(job: Pick<JobStatus, 'enabled' | 'pauseNote'>): string {
  if (job.enabled) return 'active';
  return job.pauseNote ? `paused: ${job.pauseNote}` : 'paused';
}

function lastRun(job: Pick<JobStatus, 'lastRunAt' | 'lastStatus'>, time: TimeFormat): string {
  return job.lastRunAt ? `${time(job.lastRunAt)} ${job.lastStatus ?? ''}`.trimEnd() : '-';
}

export function jobsTable(jobs: readonly JobStatus[], time: TimeFormat): string {
  return table(
    ['ID', 'STATE', 'SCHEDULE', 'NEXT DUE', 'LAST RUN', 'RUNNING', 'FAILURES'],
    jobs.map((job) => [
      job.id,
      clip(state(job), 40),
      scheduleText(job.schedule, job.reschedule),
      job.enabled ? time(job.nextDueAt) : '-',
      lastRun(job, time),
      String(job.running),
      String(job.recentFailures),
    ]),
  );
}

/** One line after a change: `buy-scanner: active, every 5m, queue mode, next ...`. */
export function statusLine(job: JobStatus, time: TimeFormat): string {
  const parts = [`${job.id}: ${state(job)}`, scheduleText(job.schedule, job.reschedule)];
  if (job.enabled && job.nextDueAt) parts.push(`next ${time(job.nextDueAt)}`);
  return safeText(parts.join(', '));
}

function retryText(job: JobRecord): string {
  const { backoff } = job.retry;
  if (job.retry.maxAttempts <= 1) return 'no retry';
  return `${job.retry.maxAttempts} attempts, ${backoff.type} backoff from ${formatDuration(backoff.delayMs)}`;
}

export function jobBlock(details: JobDetails, time: TimeFormat): string {
  const { job } = details;
  const entries: Array<[string, string]> = [
    ['id', details.id],
    ['scope', job.scope],
    ['state', state(details)],
    ['queue', details.queue],
    ['schedule', scheduleText(details.schedule, details.reschedule)],
    ['next due', details.enabled ? time(details.nextDueAt) : '-'],
    ['last run', lastRun(details, time)],
    ['running', String(details.running)],
    ['recent failures', String(details.recentFailures)],
    ['params', JSON.stringify(job.params)],
    ['timeout', formatDuration(job.timeoutMs)],
    ['retry', retryText(job)],
    ['max parallel', String(job.maxParallel)],
    ['overridden', details.overridden.length > 0 ? details.overridden.join(', ') : '-'],
    ['updated', time(job.updatedAt)],
  ];
  if (details.description) entries.splice(1, 0, ['description', details.description]);
  return block(entries);
}

export function runsTable(runs: readonly RunRecord[], time: TimeFormat): string {
  return table(
    ['RUN', 'SCHEDULED FOR', 'TRIGGER', 'STATUS', 'ATTEMPT', 'FINISHED', 'ERROR'],
    runs.map((run) => [
      run.runId,
      time(run.scheduledFor),
      run.triggerSource,
      run.status,
      String(run.attempt),
      time(run.finishedAt),
      run.error ? clip(run.error, 60) : '',
    ]),
  );
}

export function auditTable(entries: readonly AuditEntry[], time: TimeFormat): string {
  return table(
    ['AT', 'JOB', 'ACTION', 'ACTOR', 'DETAILS'],
    entries.map((entry) => [time(entry.at), entry.jobId, entry.action, entry.actor ?? '-', clip(JSON.stringify(entry.details), 80)]),
  );
}
