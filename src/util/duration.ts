import { WarrenError, describeValue } from '../errors.js';

/**
 * A duration as written in a job spec or an option: a string such as `'500ms'`, `'5s'`,
 * `'5m'`, `'1h30m'`, `'1d'`, or a number of **seconds** (the seed's `*_sec` convention).
 */
export type Duration = string | number;

const UNIT_MS: Record<string, number> = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/gy;

/** Parses a {@link Duration} to milliseconds; throws `ERR_INVALID_ARGUMENT` naming `field`. */
export function parseDuration(
  value: unknown,
  field: string,
  code: 'ERR_INVALID_JOB' | 'ERR_INVALID_OPTION' | 'ERR_INVALID_ARGUMENT' = 'ERR_INVALID_ARGUMENT',
): number {
  const fail = (rule: string): never => {
    throw new WarrenError(code, `Invalid \`${field}\`: expected ${rule}, got ${describeValue(value)}`, { field });
  };
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) fail('a number of seconds >= 0');
    return Math.round(value * 1000);
  }
  if (typeof value !== 'string') return fail('a duration such as "30s", "5m" or a number of seconds');
  const text = value.trim().toLowerCase();
  if (text === '') return fail('a duration such as "30s", "5m" or a number of seconds');
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  let total = 0;
  PART.lastIndex = 0;
  let consumed = 0;
  for (let m = PART.exec(text); m !== null; m = PART.exec(text)) {
    total += Number(m[1]) * (UNIT_MS[m[2]!] ?? 0);
    consumed = PART.lastIndex;
  }
  if (consumed !== text.length) fail('a duration such as "30s", "5m", "1h30m" or a number of seconds');
  return Math.round(total);
}

/** Formats milliseconds compactly for logs and messages: `90000` → `1m30s`. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${ms}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms);
  for (const [unit, size] of [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1_000],
    ['ms', 1],
  ] as const) {
    const n = Math.floor(rest / size);
    if (n > 0) parts.push(`${n}${unit}`);
    rest -= n * size;
  }
  return parts.join('');
}
