import { z } from 'zod';
import { formatDuration, parseDuration, type Duration } from './duration.js';

/** A zod duration option (`'30s'`, or a number of seconds), normalised to milliseconds; `minMs` is the least accepted. */
export function durationOption(minMs: number) {
  const rule = `a duration >= ${formatDuration(minMs)} (such as "30s", or a number of seconds)`;
  return z
    .custom<Duration>((v) => typeof v === 'string' || typeof v === 'number', { error: rule })
    .transform((value, ctx) => {
      let ms: number;
      try {
        ms = parseDuration(value, 'option', 'ERR_INVALID_OPTION');
      } catch {
        ctx.addIssue({ code: 'custom', message: rule, input: value });
        return z.NEVER;
      }
      if (ms < minMs) {
        ctx.addIssue({ code: 'custom', message: rule, input: value });
        return z.NEVER;
      }
      return ms;
    });
}
