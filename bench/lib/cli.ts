import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/**
 * Parses `--flag value` options with `--help`; prints `usage` and exits on --help or a
 * bad flag. Numbers are checked here so a typo never turns into a silent NaN run.
 */
export function parseCli(usage: string, options: Options): Record<string, string | boolean | undefined> {
  try {
    const { values } = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h' } }, strict: true, allowPositionals: false });
    if (values.help) {
      console.log(usage.trim());
      process.exit(0);
    }
    return values as Record<string, string | boolean | undefined>;
  } catch (err) {
    console.error(`${(err as Error).message}\n\n${usage.trim()}`);
    process.exit(2);
  }
}

export function intOption(value: string | boolean | undefined, name: string, min: number, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`--${name} must be an integer from ${min} to ${max}, got ${String(value)}`);
    process.exit(2);
  }
  return n;
}

/** `90`, `90s`, `3m` → milliseconds. */
export function durationOption(value: string | boolean | undefined, name: string, minMs: number, maxMs: number): number {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(String(value));
  const ms = match ? Number(match[1]) * (match[2] === 'ms' ? 1 : match[2] === 'm' ? 60_000 : 1000) : Number.NaN;
  if (!Number.isFinite(ms) || ms < minMs || ms > maxMs) {
    console.error(`--${name} must be a duration from ${minMs / 1000}s to ${maxMs / 1000}s (e.g. 90s, 3m), got ${String(value)}`);
    process.exit(2);
  }
  return ms;
}
