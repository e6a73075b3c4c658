/**
 * Plain-text renderings of jobs and runs for chat replies (no Markdown: nothing to escape).
 * Every time is shown in one IANA zone, named after it.
 */
import { tzOffsetMs } from '../define/tz-offsets.js';
import type { TelegramJobStatus, TelegramRun } from './control.js';

/** `2026-01-01 18:00:00 Asia/Seoul`: the wall time in `timeZone` (a canonical IANA name). */
export function formatTime(value: Date | string | null | undefined, timeZone = 'UTC'): string {
  if (value === null || value === undefined) return 'never';
  const date = value instanceof Date ? value : new Date(value);
  const ms = date.getTime();
  if (Number.isNaN(ms)) return String(value);
  const wall = timeZone === 'UTC' ? ms : ms + tzOffsetMs(timeZone, ms);
  return `${new Date(wall)
    .toISOString()
    .replace('T', ' ')
    .replace(/\.\d+Z$/, '')} ${timeZone}`;
}

export function formatEvery(ms: number): string {
  const units: Array<[string, number]> = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  const parts: string[] = [];
  let rest = ms;
  for (const [unit, size] of units) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  if (rest > 0 || parts.length === 0) parts.push(`${rest}ms`);
  return parts.join('');
}

export function formatSchedule(schedule: TelegramJobStatus['schedule']): string {
  if (schedule === null) return 'no schedule (on demand)';
  if (schedule.kind === 'every') return `every ${formatEvery(schedule.everyMs)}`;
  return schedule.tz === 'UTC' ? `cron ${schedule.cron}` : `cron ${schedule.cron} (${schedule.tz})`;
}

function state(job: TelegramJobStatus): string {
  if (job.enabled) return 'active';
  return job.pauseNote ? `PAUSED (${job.pauseNote})` : 'PAUSED';
}

/** One line of `/job status`. */
export function statusLine(job: TelegramJobStatus, timeZone = 'UTC'): string {
  const parts = [`${job.id}: ${state(job)}`, formatSchedule(job.schedule)];
  if (job.enabled && job.nextDueAt) parts.push(`next ${formatTime(job.nextDueAt, timeZone)}`);
  parts.push(job.lastRunAt ? `last ${job.lastStatus ?? 'run'} ${formatTime(job.lastRunAt, timeZone)}` : 'never ran');
  if (job.running > 0) parts.push(`${job.running} running`);
  if (job.recentFailures > 0) parts.push(`${job.recentFailures} recent failure${job.recentFailures === 1 ? '' : 's'}`);
  return parts.join(', ');
}

export function runLine(run: TelegramRun, timeZone = 'UTC'): string {
  const at = run.finishedAt ?? run.scheduledFor;
  const error = run.error ? `: ${run.error.length > 120 ? `${run.error.slice(0, 117)}...` : run.error}` : '';
  return `- ${formatTime(at, timeZone)} ${run.triggerSource} ${run.status}${error} (run ${run.runId.slice(0, 8)})`;
}

/** `/job status <id>`. */
export function statusDetails(job: TelegramJobStatus, runs: TelegramRun[], timeZone = 'UTC'): string {
  const lines = [
    `${job.id}: ${state(job)}`,
    `schedule: ${formatSchedule(job.schedule)}${job.reschedule === 'queue' ? ' (queue mode)' : ''}`,
    `next run: ${job.enabled ? formatTime(job.nextDueAt, timeZone) : 'paused'}`,
    `last run: ${job.lastRunAt ? `${formatTime(job.lastRunAt, timeZone)} (${job.lastStatus ?? 'unknown'})` : 'never'}`,
    `running: ${job.running}, recent failures: ${job.recentFailures}`,
  ];
  if (job.description) lines.push(`description: ${job.description}`);
  if (runs.length > 0) lines.push('recent runs:', ...runs.map((run) => runLine(run, timeZone)));
  return lines.join('\n');
}

/** Keeps a reply under Telegram's message limit, cutting at a line. */
export function fitReply(text: string, max: number): string {
  if (text.length <= max) return text;
  const lines = text.split('\n');
  const out: string[] = [];
  let length = 0;
  for (let i = 0; i < lines.length; i++) {
    const tail = `... and ${lines.length - i} more line${lines.length - i === 1 ? '' : 's'}`;
    if (length + lines[i]!.length + 1 + tail.length > max) {
      out.push(tail);
      break;
    }
    out.push(lines[i]!);
    length += lines[i]!.length + 1;
  }
  return out.join('\n').slice(0, max);
}
