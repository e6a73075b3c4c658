/**
 * One argument check per Store method, called first thing by both PgStore and MemoryStore,
 * so the two fail alike (the contract suite pins codes and fields): same code, same
 * `field`, same message, same order of checks. PgStore's checks are the reference.
 * Returned values are the arguments as normalised (`?? null`, `?? {}`, default limit).
 */
import type { JobConfig } from '../define/types.js';
import type {
  ClaimContext,
  ClaimRequest,
  Completion,
  Fence,
  HoldLivenessOptions,
  NewAuditEntry,
  NewRun,
  PruneCutoff,
  PublishedRun,
  RetentionDefaults,
  SlotClaim,
} from './port.js';
import { SCOPE_AUDIT_JOB } from './port.js';
import { CONFIG_KEYS } from './pg/rows.js';
import {
  checkArray,
  checkDate,
  checkDateOrNull,
  checkInteger,
  checkJobId,
  checkObject,
  checkPositiveInt,
  checkScope,
  checkString,
  fail,
  isUuid,
} from './validate.js';

export { CONFIG_KEYS };

// ── pieces ───────────────────────────────────────────────────────────────────

/** A full config (sync/upsert): every key present. */
export function checkConfig(value: unknown, field = 'config'): JobConfig {
  const config = checkObject(value, field);
  for (const key of CONFIG_KEYS) {
    if (config[key] === undefined) fail(`${field}.${key}`, 'a value (every JobConfig key is required)', undefined);
  }
  checkJobId(config.queue, `${field}.queue`);
  return config as unknown as JobConfig;
}

/** A patch: only known keys. Returns the keys given (undefined values are not patches). */
export function checkPatch(value: unknown): string[] {
  const patch = checkObject(value, 'patch');
  const keys: string[] = [];
  for (const [key, v] of Object.entries(patch)) {
    if (!(CONFIG_KEYS as readonly string[]).includes(key)) fail(`patch.${key}`, `one of the job settings (${CONFIG_KEYS.join(', ')})`, key);
    if (v !== undefined) keys.push(key);
  }
  if ('queue' in patch && patch.queue !== undefined) checkJobId(patch.queue, 'patch.queue');
  return keys;
}

export function checkContext(ctx: unknown): ClaimContext {
  const c = checkObject(ctx, 'ctx');
  checkDate(c.now, 'ctx.now');
  if (typeof c.leaseMs !== 'number' || !Number.isFinite(c.leaseMs) || c.leaseMs <= 0)
    fail('ctx.leaseMs', 'a number of milliseconds > 0', c.leaseMs);
  checkString(c.workerId, 'ctx.workerId');
  return c as unknown as ClaimContext;
}

export function checkNewRuns(value: unknown, field: string): void {
  checkArray<NewRun>(value, field).forEach((run, i) => {
    const f = `${field}[${i}]`;
    checkObject(run, f);
    if (!isUuid(run.runId)) fail(`${f}.runId`, 'a uuid', run.runId);
    checkJobId(run.jobId, `${f}.jobId`);
    checkDate(run.scheduledFor, `${f}.scheduledFor`);
    checkDate(run.availableAt, `${f}.availableAt`);
    checkDateOrNull(run.staleAt ?? null, `${f}.staleAt`);
    checkInteger(run.epoch, `${f}.epoch`);
    if (run.attempt !== undefined) checkPositiveInt(run.attempt, `${f}.attempt`);
  });
}

/** Any string is accepted: a run id that is not a uuid is simply not found. */
export function checkRunId(value: unknown, field = 'runId'): void {
  if (typeof value !== 'string') checkString(value, field);
}

// ── jobs ─────────────────────────────────────────────────────────────────────

export function checkJobArgs(scope: unknown, jobId: unknown): void {
  checkScope(scope);
  checkJobId(jobId);
}

/** removeJob, countRunning. */
export function checkJobNowArgs(scope: unknown, jobId: unknown, now: unknown): void {
  checkJobArgs(scope, jobId);
  checkDate(now, 'now');
}

/** cancelClaimedAhead. */
export function checkCancelAheadArgs(scope: unknown, jobId: unknown, after: unknown, reason: unknown, now: unknown): void {
  checkJobNowArgs(scope, jobId, now);
  checkDate(after, 'after');
  checkString(reason, 'reason');
}

/** syncJob, upsertJob. */
export function checkWriteJobArgs(scope: unknown, jobId: unknown, config: unknown, opts: unknown): { nextDueAt: Date | null; now: Date } {
  checkJobArgs(scope, jobId);
  checkConfig(config);
  const o = checkObject(opts, 'opts');
  const nextDueAt = checkDateOrNull(o.nextDueAt ?? null, 'opts.nextDueAt');
  return { nextDueAt, now: checkDate(o.now, 'opts.now') };
}

/** `nextDueAt` stays undefined when not given (leave it as it is). */
export function checkUpdateJobArgs(
  scope: unknown,
  jobId: unknown,
  patch: unknown,
  opts: unknown,
): { keys: string[]; nextDueAt: Date | null | undefined; bumpEpoch: boolean; now: Date } {
  checkJobArgs(scope, jobId);
  const keys = checkPatch(patch);
  const o = checkObject(opts, 'opts');
  const nextDueAt = o.nextDueAt === undefined ? undefined : checkDateOrNull(o.nextDueAt, 'opts.nextDueAt');
  return { keys, nextDueAt, bumpEpoch: o.bumpEpoch === true, now: checkDate(o.now, 'opts.now') };
}

export function checkSetEnabledArgs(
  scope: unknown,
  jobId: unknown,
  enabled: unknown,
  opts: unknown,
): { note: string | null; nextDueAt: Date | null | undefined; now: Date } {
  checkJobArgs(scope, jobId);
  if (typeof enabled !== 'boolean') fail('enabled', 'a boolean', enabled);
  const o = checkObject(opts, 'opts');
  const note = o.note ?? null;
  if (note !== null && typeof note !== 'string') checkString(note, 'opts.note');
  const nextDueAt = o.nextDueAt === undefined ? undefined : checkDateOrNull(o.nextDueAt, 'opts.nextDueAt');
  return { note: note as string | null, nextDueAt, now: checkDate(o.now, 'opts.now') };
}

export function checkSetNextDueArgs(scope: unknown, jobId: unknown, expected: unknown, next: unknown): void {
  checkJobArgs(scope, jobId);
  checkDateOrNull(expected, 'expected');
  checkDateOrNull(next, 'next');
}

/** dueJobs, unpublishedRuns, expiredLeases, brokenChains: (scope, a Date named `field`, limit). */
export function checkScanArgs(scope: unknown, at: unknown, field: string, limit: unknown): void {
  checkScope(scope);
  checkDate(at, field);
  checkPositiveInt(limit, 'limit');
}

/** unpublishedRuns: the scan arguments, then `opts.republishBefore` (optional). Returns it or null. */
export function checkUnpublishedArgs(scope: unknown, createdBefore: unknown, limit: unknown, opts: unknown): Date | null {
  checkScanArgs(scope, createdBefore, 'createdBefore', limit);
  const o = checkObject(opts ?? {}, 'opts');
  return o.republishBefore === undefined ? null : checkDate(o.republishBefore, 'opts.republishBefore');
}

/** listRuns, listAudit: `opts` may be omitted (or null); the limit defaults to 50. */
export function checkListArgs<O extends { jobId?: string; limit?: number }>(
  scope: unknown,
  opts: O | null | undefined,
): { opts: O; limit: number } {
  checkScope(scope);
  const o = checkObject(opts ?? {}, 'opts') as O;
  if (o.jobId !== undefined) checkJobId(o.jobId, 'opts.jobId');
  return { opts: o, limit: o.limit === undefined ? 50 : checkPositiveInt(o.limit, 'opts.limit') };
}

// ── slots and runs ───────────────────────────────────────────────────────────

export function checkClaimSlotsArgs(scope: unknown, fence: unknown, claims: unknown, now: unknown): void {
  checkScope(scope);
  checkDate(now, 'now');
  if (fence !== null) {
    const f = checkObject(fence, 'fence') as Partial<Fence>;
    checkString(f.instanceId, 'fence.instanceId');
    checkInteger(f.epoch, 'fence.epoch');
  }
  const seen = new Set<string>();
  checkArray<SlotClaim>(claims, 'claims').forEach((claim, i) => {
    checkJobId(claim?.jobId, `claims[${i}].jobId`);
    if (seen.has(claim.jobId)) fail(`claims[${i}].jobId`, 'each job at most once per call', claim.jobId);
    seen.add(claim.jobId);
    checkDateOrNull(claim.expectedNextDueAt, `claims[${i}].expectedNextDueAt`);
    checkDateOrNull(claim.nextDueAt, `claims[${i}].nextDueAt`);
    checkNewRuns(claim.runs, `claims[${i}].runs`);
  });
}

export function checkInsertRunsArgs(scope: unknown, runs: unknown, now: unknown): void {
  checkScope(scope);
  checkDate(now, 'now');
  checkNewRuns(runs, 'runs');
}

export function checkMarkPublishedArgs(runs: unknown, now: unknown): PublishedRun[] {
  const list = checkArray<PublishedRun>(runs, 'runs');
  list.forEach((r, i) => {
    checkObject(r, `runs[${i}]`);
    checkRunId(r.runId, `runs[${i}].runId`);
    checkPositiveInt(r.attempt, `runs[${i}].attempt`);
  });
  checkDate(now, 'now');
  return list;
}

/** runningCounts: scope, each job id a valid name (in order), now. Returns the distinct ids. */
export function checkRunningCountsArgs(scope: unknown, jobIds: unknown, now: unknown): string[] {
  checkScope(scope);
  const ids = checkArray<string>(jobIds, 'jobIds');
  ids.forEach((id, i) => checkJobId(id, `jobIds[${i}]`));
  checkDate(now, 'now');
  return [...new Set(ids)];
}

export function checkRunSummariesArgs(scope: unknown, jobIds: unknown, now: unknown, recent: unknown): string[] {
  const ids = checkRunningCountsArgs(scope, jobIds, now);
  checkPositiveInt(recent, 'recent');
  return ids;
}

export function checkClaimRunsArgs(requests: unknown, ctx: unknown): void {
  checkArray<ClaimRequest>(requests, 'requests').forEach((r, i) => {
    checkObject(r, `requests[${i}]`);
    checkRunId(r.runId, `requests[${i}].runId`);
    checkPositiveInt(r.attempt, `requests[${i}].attempt`);
    if (r.startAt !== undefined) checkDate(r.startAt, `requests[${i}].startAt`);
  });
  checkContext(ctx);
}

export function checkHeartbeatArgs(runIds: unknown, ctx: unknown): string[] {
  const ids = checkArray<string>(runIds, 'runIds');
  checkContext(ctx);
  return ids;
}

export function checkCompletions(completions: unknown): void {
  checkArray<Completion>(completions, 'completions').forEach((c, i) => {
    const f = `completions[${i}]`;
    checkObject(c, f);
    checkRunId(c.runId, `${f}.runId`);
    checkPositiveInt(c.attempt, `${f}.attempt`);
    const guard = checkObject(c.guard, `${f}.guard`);
    if ('workerId' in guard) checkString(guard.workerId, `${f}.guard.workerId`);
    else if ('workerGone' in guard) {
      checkString(guard.workerGone, `${f}.guard.workerGone`);
      checkDate(guard.absentBefore, `${f}.guard.absentBefore`);
    } else checkDate(guard.leaseExpiredBefore, `${f}.guard.leaseExpiredBefore`);
    checkDate(c.finishedAt, `${f}.finishedAt`);
    if (c.retryAt !== undefined) checkDate(c.retryAt, `${f}.retryAt`);
    if (c.next !== undefined) {
      checkObject(c.next, `${f}.next`);
      checkNewRuns([c.next.run], `${f}.next.run`);
      checkDate(c.next.nextDueAt, `${f}.next.nextDueAt`);
    }
  });
}

// ── leadership, liveness, audit, notification ────────────────────────────────

export function checkDeadWorkerRunsArgs(scope: unknown, now: unknown, graceMs: unknown, limit: unknown): void {
  checkScanArgs(scope, now, 'now', limit);
  if (typeof graceMs !== 'number' || !Number.isInteger(graceMs) || graceMs < 0)
    fail('graceMs', 'an integer number of milliseconds >= 0', graceMs);
}

export function checkHoldLivenessArgs(kind: unknown, instanceId: unknown, options: unknown): HoldLivenessOptions {
  if (kind !== 'worker' && kind !== 'scheduler') fail('kind', '"worker" or "scheduler"', kind);
  checkString(instanceId, 'instanceId');
  const o = checkObject(options ?? {}, 'options');
  if (o.createClient !== undefined && typeof o.createClient !== 'function')
    fail('options.createClient', 'a function returning a new pg.Client', o.createClient);
  if (o.onChange !== undefined && typeof o.onChange !== 'function') fail('options.onChange', 'a function', o.onChange);
  return o as HoldLivenessOptions;
}

export function checkAcquireLeadershipArgs(scope: unknown, instanceId: unknown, ttlMs: unknown, now: unknown): void {
  checkScope(scope);
  checkString(instanceId, 'instanceId');
  checkPositiveInt(ttlMs, 'ttlMs');
  checkDate(now, 'now');
}

export function checkReleaseLeadershipArgs(scope: unknown, instanceId: unknown): void {
  checkScope(scope);
  checkString(instanceId, 'instanceId');
}

export function checkGetLeadershipArgs(scope: unknown, now: unknown): void {
  checkScope(scope);
  checkDate(now, 'now');
}

export function checkAppendAuditArgs(scope: unknown, entry: unknown): NewAuditEntry {
  checkScope(scope);
  const e = checkObject(entry, 'entry');
  if (e.jobId !== SCOPE_AUDIT_JOB) checkJobId(e.jobId, 'entry.jobId');
  checkString(e.action, 'entry.action');
  checkDate(e.at, 'entry.at');
  return e as unknown as NewAuditEntry;
}

export function checkOnJobChangeArgs(scope: unknown, listener: unknown): void {
  checkScope(scope);
  if (typeof listener !== 'function') fail('listener', 'a function', listener);
}

// ── retention ────────────────────────────────────────────────────────────────

function checkLimitOrNull(value: unknown, field: string, min: number): number | null {
  if (value === null) return null;
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) fail(field, `an integer >= ${min} or null`, value);
  return value;
}

export function checkRetentionCutoffsArgs(scope: unknown, defaults: unknown, now: unknown): RetentionDefaults {
  checkScope(scope);
  const d = checkObject(defaults, 'defaults');
  const maxAgeMs = checkLimitOrNull(d.maxAgeMs ?? null, 'defaults.maxAgeMs', 1);
  const keepLast = checkLimitOrNull(d.keepLast ?? null, 'defaults.keepLast', 1);
  checkDate(now, 'now');
  return { maxAgeMs, keepLast };
}

export function checkPruneRunsArgs(scope: unknown, cutoffs: unknown, limit: unknown): PruneCutoff[] {
  checkScope(scope);
  const list = checkArray<PruneCutoff>(cutoffs, 'cutoffs');
  list.forEach((c, i) => {
    checkObject(c, `cutoffs[${i}]`);
    checkJobId(c.jobId, `cutoffs[${i}].jobId`);
    checkDate(c.before, `cutoffs[${i}].before`);
  });
  checkPositiveInt(limit, 'limit');
  return list;
}
