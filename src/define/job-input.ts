/**
 * Job settings as the control API receives them: JSON, never params schemas. Two shapes are
 * accepted for a whole job: a JSON `JobSpec` (the keys of `defineJob` minus the `params`
 * schema) and the seed's REST body (`job_id`, `queue: "real.jobs.buy-scanner"`, `cron_expr`,
 * `interval_seconds`, ...). Errors name the field as the caller wrote it.
 */
import { WarrenError, describeValue } from '../errors.js';
import { SCOPE } from '../names.js';
import { JOB_SPEC_KEYS, normalizeJobSpec } from './define-job.js';
import {
  JOB_DEFAULTS,
  OVERLAP_POLICIES,
  boolean,
  description,
  integerAtLeast,
  invalid,
  isPlainObject,
  normalizeCatchup,
  normalizeRetention,
  normalizeRetry,
  normalizeStale,
  oneOf,
  plainObject,
  positiveDuration,
  rejectUnknownKeys,
  renameError,
  type RuleCode,
} from './job-rules.js';
import { validatePeriod, validateSchedule } from './schedule.js';
import type { DefinedJobConfig, DefinedSchedule, JobConfig } from './types.js';

export interface JobInput {
  id: string;
  /** Set when the input names a scope: `scope` in a JSON spec, or the `{scope}.jobs.` prefix of a seed `queue`. */
  scope?: string;
  /** A cron without `tz` is left to the default time zone of the scheduler that stores it. */
  config: DefinedJobConfig;
}

const SEED_KEYS = [
  'job_id',
  'queue',
  'cron_expr',
  'interval_seconds',
  'tz',
  'reschedule_mode',
  'default_params',
  'description',
  'enabled',
  'max_parallel',
  'timeout_sec',
  'max_attempts',
] as const;

/** Spec field → seed field, for error messages. */
const SEED_NAMES: Record<string, string> = {
  id: 'job_id',
  queue: 'queue',
  scope: 'queue',
  'schedule.cron': 'cron_expr',
  'schedule.every': 'interval_seconds',
  'schedule.tz': 'tz',
  staleAfter: 'interval_seconds',
  schedule: 'cron_expr',
  reschedule: 'reschedule_mode',
  defaultParams: 'default_params',
  maxParallel: 'max_parallel',
  timeout: 'timeout_sec',
  'retry.maxAttempts': 'max_attempts',
};

function seedName(field: string): string {
  if (field.startsWith('defaultParams.')) return `default_params.${field.slice('defaultParams.'.length)}`;
  return SEED_NAMES[field] ?? field;
}

const SCOPED_QUEUE = new RegExp(`^(${SCOPE.source.slice(1, -1)})\\.jobs\\.(.+)$`);
const JOB: RuleCode = 'ERR_INVALID_JOB';

/**
 * Parses a job as JSON: a JobSpec without the params schema, or the seed's REST body.
 *
 * Seed bodies: `queue: "{scope}.jobs.{name}"` becomes queue `{name}` in scope `{scope}`.
 * A cron is a cron in both modes: with `cron_expr`, the cron decides when runs fire (in
 * queue mode each link chains to the next cron slot), and an `interval_seconds` beside it
 * is the period the seed's message TTL came from: the job's `staleAfter` is 0.8 × it. Only
 * an `interval_seconds` without a cron becomes `every`. A body without `tz` takes the
 * scheduler's `timezone`.
 */
export function parseJobInput(body: unknown): JobInput {
  if (!isPlainObject(body)) {
    throw new WarrenError(JOB, `Invalid job: expected a JSON object with \`id\` (or the seed's \`job_id\`), got ${describeValue(body)}`);
  }
  if (body.job_id !== undefined) {
    if (body.id !== undefined) invalid(JOB, 'id', 'either `id` (a job spec) or `job_id` (the seed body), not both', body.id);
    return parseSeedBody(body);
  }
  if (body.params !== undefined) {
    const label = typeof body.id === 'string' ? `job \`${body.id}\`` : 'job';
    throw new WarrenError(
      JOB,
      `Invalid ${label} field \`params\`: expected no params schema in JSON (default params go in \`defaultParams\`), got ${describeValue(body.params)}`,
      { field: 'params' },
    );
  }
  const normalized = normalizeJobSpec(body, JOB);
  return withScope(normalized.id, normalized.scope, normalized.config);
}

function withScope(id: string, scope: string | undefined, config: DefinedJobConfig): JobInput {
  return scope === undefined ? { id, config } : { id, scope, config };
}

function parseSeedBody(body: Record<string, unknown>): JobInput {
  const label = typeof body.job_id === 'string' ? `job \`${body.job_id}\`` : 'job';
  const prefix = (field: string) => `Invalid ${label} field \`${field}\``;
  const given = (key: string): unknown => (body[key] === null ? undefined : body[key]);
  try {
    rejectUnknownKeys(body, SEED_KEYS, '', JOB);
    const spec: Record<string, unknown> = { id: body.job_id };
    let scope: string | undefined;
    const queue = given('queue');
    const scoped = typeof queue === 'string' ? SCOPED_QUEUE.exec(queue) : null;
    if (scoped !== null) {
      scope = scoped[1];
      spec.queue = scoped[2];
    } else if (queue !== undefined) {
      spec.queue = queue;
    }
    const cron = given('cron_expr');
    const interval = given('interval_seconds');
    const tz = given('tz');
    const mode = given('reschedule_mode');
    if (mode !== undefined) spec.reschedule = mode;
    if (cron !== undefined) {
      spec.schedule = tz === undefined ? { cron } : { cron, tz };
      // The seed's TTL: 0.8 × interval_seconds, whatever the gap to the next cron slot.
      if (interval !== undefined)
        spec.staleAfter = `${Math.round(validatePeriod(interval, 'interval_seconds', JOB) * JOB_DEFAULTS.staleRatio)}ms`;
    } else {
      if (tz !== undefined) invalid(JOB, 'tz', '`tz` only with `cron_expr`', tz);
      if (interval !== undefined) spec.schedule = { every: interval };
      else if (mode === 'queue')
        invalid(JOB, 'interval_seconds', '`interval_seconds` or `cron_expr` when `reschedule_mode` is "queue"', undefined);
    }
    if (given('default_params') !== undefined) spec.defaultParams = body.default_params;
    if (given('description') !== undefined) spec.description = body.description;
    if (body.enabled !== undefined) spec.enabled = body.enabled;
    if (body.max_parallel !== undefined) spec.maxParallel = body.max_parallel;
    if (body.timeout_sec !== undefined) spec.timeout = body.timeout_sec;
    if (body.max_attempts !== undefined) spec.retry = { maxAttempts: body.max_attempts };
    if (scope !== undefined) spec.scope = scope;
    const normalized = normalizeJobSpec(spec, JOB, { rename: seedName });
    return withScope(normalized.id, normalized.scope, normalized.config);
  } catch (error) {
    if (error instanceof WarrenError && error.field !== undefined && error.message.startsWith('Invalid `')) {
      throw renameError(error, (field) => field, prefix, JOB);
    }
    throw error;
  }
}

// ---------------------------------------------------------------------------
// Patches

const PATCH_KEYS = [
  'schedule',
  'every',
  'interval_seconds',
  'cron',
  'cron_expr',
  'tz',
  'params',
  'default_params',
  'enabled',
  'description',
  'maxParallel',
  'max_parallel',
  'overlap',
  'timeout',
  'timeout_sec',
  'staleAfter',
  'retry',
  'max_attempts',
  'catchup',
  'retention',
] as const;

const ARG: RuleCode = 'ERR_INVALID_ARGUMENT';

/** Validates a schedule written under other names: `{ every }` → field `interval_seconds`, … */
function scheduleAs(spec: Record<string, unknown>, names: Record<string, string>): DefinedSchedule {
  try {
    return validateSchedule(spec as never, '$', ARG);
  } catch (error) {
    throw renameError(
      error,
      (field) => names[field] ?? field,
      (field) => `Invalid \`${field}\``,
      ARG,
    );
  }
}

/**
 * Parses a control-API patch (`update(id, patch)`) against the job's current settings.
 * Only the keys given change; `params` replaces the default params as a whole. Accepts
 * warren's names and the seed's (`interval_seconds`, `cron_expr`, `default_params`, ...).
 * A new cron without `tz` (`schedule: { cron }` on any job, `cron` on an `every` job) is
 * left to the default time zone.
 */
export function parseConfigPatch(patch: unknown, current: JobConfig): Partial<DefinedJobConfig> {
  const body = plainObject(patch, 'patch', ARG, 'an object of settings to change');
  rejectUnknownKeys(body, PATCH_KEYS, '', ARG);
  const present = (key: string) => body[key] !== undefined;
  const either = (a: string, b: string): [string, unknown] | undefined => {
    if (present(a) && present(b)) invalid(ARG, b, `only one of \`${a}\` or \`${b}\``, body[b]);
    if (present(a)) return [a, body[a]];
    if (present(b)) return [b, body[b]];
    return undefined;
  };
  const out: Partial<DefinedJobConfig> = {};

  const every = either('every', 'interval_seconds');
  const cron = either('cron', 'cron_expr');
  const sources = [present('schedule') ? 'schedule' : undefined, every?.[0], cron?.[0]].filter((k) => k !== undefined);
  if (sources.length > 1) invalid(ARG, sources[1]!, `only one of ${sources.map((k) => `\`${k}\``).join(', ')}`, body[sources[1]!]);
  const tz = body.tz;
  if (present('schedule')) {
    if (present('tz')) invalid(ARG, 'tz', '`tz` inside `schedule`', tz);
    out.schedule =
      body.schedule === null
        ? null
        : scheduleAs(plainObject(body.schedule, 'schedule', ARG, '{ cron, tz? }, { every } or null'), {
            $: 'schedule',
            '$.cron': 'schedule.cron',
            '$.tz': 'schedule.tz',
            '$.every': 'schedule.every',
          });
  } else if (every !== undefined) {
    if (present('tz')) invalid(ARG, 'tz', '`tz` only with a cron schedule', tz);
    out.schedule = scheduleAs({ every: every[1] }, { '$.every': every[0] });
  } else if (cron !== undefined) {
    const zone = present('tz') ? tz : current.schedule?.kind === 'cron' ? current.schedule.tz : undefined;
    out.schedule = scheduleAs(zone === undefined ? { cron: cron[1] } : { cron: cron[1], tz: zone }, { '$.cron': cron[0], '$.tz': 'tz' });
  } else if (present('tz')) {
    if (current.schedule?.kind !== 'cron') invalid(ARG, 'tz', 'a job with a cron schedule (or `cron` beside `tz`)', tz);
    out.schedule = scheduleAs({ cron: current.schedule.cron, tz }, { '$.tz': 'tz' });
  }
  if (out.schedule === null && current.reschedule === 'queue') {
    invalid(ARG, 'schedule', 'a schedule for a queue-mode job (the chain needs a period)', null);
  }

  const params = either('params', 'default_params');
  if (params !== undefined) out.params = structuredClone(plainObject(params[1], params[0], ARG));
  if (present('enabled')) out.enabled = boolean(body.enabled, 'enabled', ARG);
  if ('description' in body) out.description = description(body.description, 'description', ARG);
  const maxParallel = either('maxParallel', 'max_parallel');
  if (maxParallel !== undefined) out.maxParallel = integerAtLeast(maxParallel[1], 1, maxParallel[0], ARG);
  if (present('overlap')) out.overlap = oneOf(body.overlap, OVERLAP_POLICIES, 'overlap', ARG);
  const timeout = either('timeout', 'timeout_sec');
  if (timeout !== undefined) out.timeoutMs = positiveDuration(timeout[1], timeout[0], ARG);
  if ('staleAfter' in body) out.stale = normalizeStale(body.staleAfter, 'staleAfter', ARG);
  if (present('retry')) out.retry = normalizeRetry(body.retry, 'retry', ARG, current.retry);
  if (present('max_attempts')) {
    if (present('retry') && (body.retry as Record<string, unknown>).maxAttempts !== undefined) {
      invalid(ARG, 'max_attempts', 'only one of `retry.maxAttempts` or `max_attempts`', body.max_attempts);
    }
    const base = out.retry ?? current.retry;
    out.retry = { maxAttempts: integerAtLeast(body.max_attempts, 1, 'max_attempts', ARG), backoff: { ...base.backoff } };
  }
  if (present('catchup'))
    out.catchup = normalizeCatchup(body.catchup, out.schedule !== undefined ? out.schedule : current.schedule, 'catchup', ARG);
  // A new policy replaces the job's whole policy; `null` gives the job the scope's default back.
  if (present('retention')) out.retention = normalizeRetention(body.retention, 'retention', ARG);
  return out;
}

/** The keys of JobSpec a JSON spec may carry (all but the `params` schema). */
export const JSON_SPEC_KEYS = JOB_SPEC_KEYS.filter((key) => key !== 'params');
