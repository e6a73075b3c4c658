/**
 * One-dimensional Postgres array literals (`{a,b,NULL}`), each sent as one text parameter
 * that the statement casts (`$2::text[]`). node-postgres turns a JS array into the same
 * literal element by element (a type dispatch, then two regular-expression passes and a
 * quoted copy of every element, numbers too), which was a measurable share of the worker's
 * CPU and allocations on the run update's arrays; here the element types are known, so
 * numbers and uuids go bare and text is escaped only when it holds `\` or `"`.
 */
import { isUuid } from '../validate.js';

/**
 * Text elements (text, or jsonb sent as text): every one double-quoted, so the empty string,
 * the text `NULL`, blanks, commas and braces stay what they are; `\` and `"` escaped. null
 * is the bare NULL.
 */
export function textArray(values: ReadonlyArray<string | null>): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as string | null;
    if (i > 0) out += ',';
    out += value === null ? 'NULL' : quoted(value);
  }
  return `${out}}`;
}

/**
 * `value` in double quotes, `\` and `"` escaped (backslashes first, so the escape of a quote
 * is not escaped again). Text without either, most of it, is only wrapped; two plain
 * replaceAll passes beat one regular expression with a `$&` replacement on JSON text.
 */
function quoted(value: string): string {
  return value.includes('"') || value.includes('\\') ? `"${value.replaceAll('\\', '\\\\').replaceAll('"', '\\"')}"` : `"${value}"`;
}

/**
 * Number elements (integer, float8), bare: a JS number prints as digits, `.`, `e`, signs or
 * `NaN` / `Infinity` / `-Infinity`, all of which float8 reads as the same value. null is NULL.
 */
export function numberArray(values: ReadonlyArray<number | null>): string {
  let out = '{';
  for (let i = 0; i < values.length; i++) {
    const value = values[i] as number | null;
    if (i > 0) out += ',';
    out += value === null ? 'NULL' : String(value);
  }
  return `${out}}`;
}

/** uuid elements, bare; anything but a canonical uuid is refused, as a bare element could break the literal. */
export function uuidArray(values: readonly string[]): string {
  for (const value of values) if (!isUuid(value)) throw new TypeError(`not a uuid: ${JSON.stringify(value)}`);
  return `{${values.join(',')}}`;
}
