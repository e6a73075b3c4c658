/**
 * Turns the first zod issue into a WarrenError naming the field, the rule and the value
 * received, the way every warren factory reports a bad option or argument.
 */
import type { z } from 'zod';
import { WarrenError, describeValue, type WarrenErrorCode } from '../errors.js';

function valueAt(input: unknown, path: readonly PropertyKey[]): unknown {
  let value = input;
  for (const key of path) {
    if (typeof value !== 'object' || value === null) return undefined;
    value = (value as Record<PropertyKey, unknown>)[key];
  }
  return value;
}

/**
 * `label` starts the message: "Invalid admin handler option" → "Invalid admin handler option
 * `token`: expected ..., got ...". Without a label: "Invalid `note`: expected ...".
 */
export function parseWith<S extends z.ZodType>(schema: S, input: unknown, code: WarrenErrorCode, label?: string): z.output<S> {
  const parsed = schema.safeParse(input);
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const prefix = label === undefined ? 'Invalid' : `Invalid ${label}`;
  if (issue.code === 'unrecognized_keys') {
    const field = [...issue.path, issue.keys[0] ?? '?'].map(String).join('.');
    throw new WarrenError(code, `${prefix} \`${field}\`: unknown ${label === undefined ? 'field' : 'option'}`, { field });
  }
  const field = issue.path.map(String).join('.') || '(body)';
  const value = valueAt(input, issue.path);
  const got = value === undefined && issue.path.length > 0 ? 'nothing' : describeValue(value);
  throw new WarrenError(code, `${prefix} \`${field}\`: expected ${issue.message}, got ${got}`, { field });
}
