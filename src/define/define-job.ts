/**
 * `defineJob(spec)`: one zod schema validates a job spec and normalises it into the
 * JSON-safe `JobConfig` the store persists. Errors are `ERR_INVALID_JOB` naming the field,
 * the rule and the value received:
 * ``Invalid job `scan` field `schedule.cron`: expected a 5- or 6-field cron expression, got "* * *"``.
 */
import { z } from 'zod';
import { WarrenError, describeValue } from '../errors.js';
import { assertName, assertScope } from '../names.js';
import { valueAt } from '../util/options.js';
import {
  JOB_DEFAULTS,
  OVERLAP_POLICIES,
  RESCHEDULE_MODES,
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
  renameError,
  unknownKeyRule,
  type RuleCode,
} from './job-rules.js';
import { validateSchedule } from './schedule.js';
import { isStandardSchema, validateSync, type StandardSchemaV1 } from './standard-schema.js';
import type { DefinedJobConfig, JobDefinition, JobSpec } from './types.js';

/** The params schema when a spec gives none: any object. */
export type DefaultParamsSchema = z.ZodRecord<z.ZodString, z.ZodUnknown>;

export const JOB_SPEC_KEYS = [
  'id',
  'queue',
  'schedule',
  'reschedule',
  'params',
  'defaultParams',
  'timeout',
  'retry',
  'overlap',
  'maxParallel',
  'catchup',
  'staleAfter',
  'scope',
  'description',
  'enabled',
  'runOnStartup',
  'retention',
] as const;

export interface NormalizedJobSpec {
  id: string;
  scope: string | undefined;
  config: DefinedJobConfig;
  paramsSchema: StandardSchemaV1;
}

export interface NormalizeOptions {
  /** Maps a spec field (`schedule.cron`) to the name the user wrote (`cron_expr`) in errors. */
  rename?: (field: string) => string;
}

const CODE: RuleCode = 'ERR_INVALID_JOB';

// Rules run inside zod transforms; a rule's WarrenError becomes an issue carrying its field.
function rule<T>(check: (value: unknown) => T) {
  // `.optional()` first: zod 4 reports an absent key as missing unless the schema opts in.
  return z
    .unknown()
    .optional()
    .transform((value, ctx) => {
      try {
        return check(value);
      } catch (error) {
        if (!(error instanceof WarrenError)) throw error;
        ctx.addIssue({ code: 'custom', message: error.message, params: { field: error.field } });
        return z.NEVER;
      }
    });
}

function optional<T>(check: (value: unknown) => T, fallback: T) {
  return rule((value) => (value === undefined ? fallback : check(value)));
}

/** The one check of a params schema, shared by `defineJob` and `worker.handleQueue`: any Standard Schema. */
export function paramsSchema(value: unknown, field: string, code: RuleCode): StandardSchemaV1 {
  return isStandardSchema(value) ? value : invalid(code, field, 'a Standard Schema (zod, valibot, ArkType, ...)', value);
}

const jobSpecSchema = z
  .strictObject({
    id: rule((v) => assertName(v, 'id', CODE)),
    queue: optional<string | null>((v) => assertName(v, 'queue', CODE), null),
    schedule: optional((v) => validateSchedule(v as never, 'schedule', CODE), null),
    reschedule: optional((v) => oneOf(v, RESCHEDULE_MODES, 'reschedule', CODE), JOB_DEFAULTS.reschedule),
    params: optional<StandardSchemaV1>((v) => paramsSchema(v, 'params', CODE), z.record(z.string(), z.unknown())),
    defaultParams: optional<Record<string, unknown> | null>((v) => plainObject(v, 'defaultParams', CODE), null),
    timeout: optional((v) => positiveDuration(v, 'timeout', CODE), JOB_DEFAULTS.timeoutMs),
    retry: rule((v) => normalizeRetry(v, 'retry', CODE)),
    overlap: optional((v) => oneOf(v, OVERLAP_POLICIES, 'overlap', CODE), JOB_DEFAULTS.overlap),
    maxParallel: optional((v) => integerAtLeast(v, 1, 'maxParallel', CODE), JOB_DEFAULTS.maxParallel),
    catchup: rule((v) => v),
    staleAfter: rule((v) => normalizeStale(v, 'staleAfter', CODE)),
    scope: optional<string | null>((v) => assertScope(v, 'scope', CODE), null),
    description: rule((v) => description(v, 'description', CODE)),
    enabled: optional((v) => boolean(v, 'enabled', CODE), JOB_DEFAULTS.enabled),
    runOnStartup: optional((v) => boolean(v, 'runOnStartup', CODE), JOB_DEFAULTS.runOnStartup),
    retention: rule((v) => normalizeRetention(v, 'retention', CODE)),
  })
  .transform((spec, ctx): NormalizedJobSpec => {
    const issue = (field: string, rule: string, value: unknown) => {
      ctx.addIssue({ code: 'custom', message: `Invalid \`${field}\`: expected ${rule}, got ${describeValue(value)}`, params: { field } });
      return z.NEVER;
    };
    const schedule = spec.schedule ?? null;
    if (spec.reschedule === 'queue' && schedule === null) {
      return issue('schedule', 'a schedule when `reschedule` is "queue" (the chain needs a period)', undefined);
    }
    let catchup;
    try {
      catchup = normalizeCatchup(spec.catchup, schedule, 'catchup', CODE);
    } catch (error) {
      if (!(error instanceof WarrenError)) throw error;
      ctx.addIssue({ code: 'custom', message: error.message, params: { field: error.field } });
      return z.NEVER;
    }
    // Scheduled and startup runs carry no params of their own, so their defaults must pass.
    // The defaults are validated in any case: that finds an async schema here, not at the first run.
    const params = spec.defaultParams ?? {};
    const checked = validateSync(spec.params, params, `job \`${typeof spec.id === 'string' ? spec.id : '?'}\``);
    if (!checked.ok && (spec.defaultParams !== null || schedule !== null || spec.runOnStartup)) {
      const field = checked.issue.path === '' ? 'defaultParams' : `defaultParams.${checked.issue.path}`;
      return issue(field, `a value the \`params\` schema accepts (${checked.issue.message})`, valueAt(params, checked.issue.keys));
    }
    const config: DefinedJobConfig = {
      queue: spec.queue ?? spec.id,
      schedule,
      reschedule: spec.reschedule,
      params: structuredClone(params),
      enabled: spec.enabled,
      timeoutMs: spec.timeout,
      retry: spec.retry,
      overlap: spec.overlap,
      maxParallel: spec.maxParallel,
      catchup,
      stale: spec.staleAfter,
      description: spec.description,
      runOnStartup: spec.runOnStartup,
      retention: spec.retention,
    };
    return { id: spec.id, scope: spec.scope ?? undefined, config, paramsSchema: spec.params };
  });

/**
 * Validates and normalises a job spec. `code` is the error code to throw (`ERR_INVALID_JOB`
 * for code definitions; the control API may pass another).
 */
export function normalizeJobSpec(spec: unknown, code: RuleCode = CODE, options: NormalizeOptions = {}): NormalizedJobSpec {
  const rename = options.rename ?? ((field: string) => field);
  if (!isPlainObject(spec)) {
    throw new WarrenError(code, `Invalid job: expected an object with at least \`${rename('id')}\`, got ${describeValue(spec)}`);
  }
  const result = jobSpecSchema.safeParse(spec);
  if (result.success) return result.data;
  const label = typeof spec.id === 'string' && spec.id !== '' ? `job \`${spec.id.slice(0, 100)}\`` : 'job';
  const prefix = (field: string) => `Invalid ${label} field \`${field}\``;
  // A typo in a key usually explains the other issues, so it is reported first.
  const issues = [...result.error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
  const first = issues[0]!;
  if (first.code === 'unrecognized_keys') {
    const key = first.keys[0]!;
    const known = JOB_SPEC_KEYS.map(rename);
    const field = rename(key);
    throw new WarrenError(code, `${prefix(field)}: expected ${unknownKeyRule(field, known)}, got ${describeValue(spec[key])}`, { field });
  }
  const field =
    (first.code === 'custom' && typeof first.params?.field === 'string' ? first.params.field : first.path.map(String).join('.')) || 'id';
  const inner = new WarrenError(code, first.message.startsWith('Invalid `') ? first.message : `Invalid \`${field}\`: ${first.message}`, {
    field,
  });
  throw renameError(inner, rename, prefix, code);
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const key of Object.keys(value)) deepFreeze((value as Record<string, unknown>)[key]);
  }
  return value;
}

/**
 * The one parse of a run's params, shared by a definition's `parseParams` and a queue
 * handler's `params`: `defaults` merged under `input`, then the schema (any Standard
 * Schema). Throws ERR_INVALID_ARGUMENT naming the field as the schema reported it
 * (`params.tags.1`); `owner` says whose schema it is (`job \`scan\``).
 */
export function parseParamsWith<T>(
  schema: StandardSchemaV1<unknown, T>,
  defaults: Readonly<Record<string, unknown>>,
  input: unknown,
  owner: string,
): T {
  if (input !== undefined && input !== null && !isPlainObject(input)) {
    invalid('ERR_INVALID_ARGUMENT', 'params', 'an object', input);
  }
  const merged = { ...structuredClone(defaults), ...(input ?? {}) };
  const result = validateSync(schema, merged, owner);
  if (result.ok) return result.value;
  const field = ['params', ...result.issue.keys.map(String)].join('.');
  return invalid(
    'ERR_INVALID_ARGUMENT',
    field,
    `a value the \`params\` schema of ${owner} accepts (${result.issue.message})`,
    valueAt(merged, result.issue.keys),
  );
}

/**
 * Defines a job: validated at once (a bad spec throws `ERR_INVALID_JOB` naming the field),
 * frozen, and typed by its `params` schema so the handler sees the schema's output type.
 * `params` is any Standard Schema: zod (3.24 or later, or 4), valibot, ArkType, ...
 *
 * @example
 * const scan = defineJob({
 *   id: 'buy-scanner',
 *   schedule: { cron: '*\/5 * * * *', tz: 'Asia/Seoul' },
 *   params: z.object({ mode: z.enum(['swing', 'scalp']) }),
 *   defaultParams: { mode: 'swing' },
 * });
 */
export function defineJob<TSchema extends StandardSchemaV1 = DefaultParamsSchema>(
  spec: JobSpec<TSchema>,
): JobDefinition<StandardSchemaV1.InferOutput<TSchema>> {
  type Params = StandardSchemaV1.InferOutput<TSchema>;
  const normalized = normalizeJobSpec(spec, CODE);
  const config = deepFreeze(normalized.config);
  const schema = normalized.paramsSchema as StandardSchemaV1<unknown, Params>;
  const definition: JobDefinition<Params> = {
    id: normalized.id,
    scope: normalized.scope,
    config,
    paramsSchema: schema,
    parseParams: (input: unknown): Params => parseParamsWith(schema, config.params, input, `job \`${normalized.id}\``),
  };
  return Object.freeze(definition);
}
