/**
 * A job's `params` schema is any Standard Schema (https://standardschema.dev): zod >= 3.24,
 * zod 4, valibot, ArkType, ... The interface is inlined (it is types only, and the spec
 * asks libraries to copy it) so warren's published types need no extra package.
 *
 * Validation is synchronous: a handler's params are parsed where a run is claimed and where
 * `runNow` is called, and neither waits on a schema. An async schema (one with an async
 * refinement) is refused with `ERR_INVALID_JOB` at `defineJob` or at its first use.
 */
import { WarrenError } from '../errors.js';

/** The Standard Schema interface, v1 (copied from `@standard-schema/spec`, MIT). */
export interface StandardSchemaV1<Input = unknown, Output = Input> {
  readonly '~standard': StandardSchemaV1.Props<Input, Output>;
}

// eslint-disable-next-line @typescript-eslint/no-namespace
export declare namespace StandardSchemaV1 {
  interface Props<Input = unknown, Output = Input> {
    readonly version: 1;
    readonly vendor: string;
    readonly validate: (value: unknown, options?: Options | undefined) => Result<Output> | Promise<Result<Output>>;
    readonly types?: Types<Input, Output> | undefined;
  }
  interface Options {
    readonly libraryOptions?: Record<string, unknown> | undefined;
  }
  type Result<Output> = SuccessResult<Output> | FailureResult;
  interface SuccessResult<Output> {
    readonly value: Output;
    readonly issues?: undefined;
  }
  interface FailureResult {
    readonly issues: ReadonlyArray<Issue>;
  }
  interface Issue {
    readonly message: string;
    readonly path?: ReadonlyArray<PropertyKey | PathSegment> | undefined;
  }
  interface PathSegment {
    readonly key: PropertyKey;
  }
  interface Types<Input = unknown, Output = Input> {
    readonly input: Input;
    readonly output: Output;
  }
  type InferInput<Schema extends StandardSchemaV1> = NonNullable<Schema['~standard']['types']>['input'];
  type InferOutput<Schema extends StandardSchemaV1> = NonNullable<Schema['~standard']['types']>['output'];
}

/** True for a Standard Schema v1. ArkType's types are functions, so functions count too. */
export function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  if ((typeof value !== 'object' && typeof value !== 'function') || value === null) return false;
  const props = (value as { '~standard'?: unknown })['~standard'];
  return (
    typeof props === 'object' &&
    props !== null &&
    (props as { version?: unknown }).version === 1 &&
    typeof (props as { validate?: unknown }).validate === 'function'
  );
}

/** The first problem a schema found: its dotted path (`''` for the root) and message. */
export interface SchemaIssue {
  /** The path as keys, for reading the offending value. */
  keys: PropertyKey[];
  /** The path dotted for messages and `WarrenError.field`: `tags.1`. */
  path: string;
  message: string;
}

export type SchemaResult<T> = { ok: true; value: T } | { ok: false; issue: SchemaIssue };

/**
 * Validates synchronously. A schema whose `validate` returns a promise is refused with
 * `ERR_INVALID_JOB` (field `params`), naming its `owner` (`job \`scan\``, `queue \`reports\``);
 * the promise is silenced, not awaited.
 */
export function validateSync<T>(schema: StandardSchemaV1<unknown, T>, value: unknown, owner: string): SchemaResult<T> {
  const result = schema['~standard'].validate(value);
  if (typeof (result as { then?: unknown }).then === 'function') {
    (result as Promise<unknown>).catch(() => {});
    throw new WarrenError(
      'ERR_INVALID_JOB',
      `Invalid ${owner} field \`params\`: expected a schema that validates synchronously (no async refinements or transforms), got an async ${schema['~standard'].vendor} schema`,
      { field: 'params' },
    );
  }
  const settled = result as StandardSchemaV1.Result<T>;
  if (settled.issues === undefined) return { ok: true, value: settled.value };
  const first = settled.issues[0];
  if (first === undefined) return { ok: false, issue: { keys: [], path: '', message: 'invalid' } };
  const keys = (first.path ?? []).map((segment) => (typeof segment === 'object' && segment !== null ? segment.key : segment));
  return { ok: false, issue: { keys, path: keys.map(String).join('.'), message: first.message } };
}
