import { describeValue } from '../errors.js';

/**
 * The reasons a message goes to `{queue}.dead` (header `x-warren-reason`), in one place so
 * operators, tests and docs read the same words.
 */
export const deadLetterReason = {
  malformed: (detail: string) => `malformed message: ${detail}`,
  wrongScope: (got: string, expected: string) => `wrong scope ${describeValue(got)} (this worker serves ${describeValue(expected)})`,
  unknownJob: (jobId: string, queue: string) => `unknown job ${jobId} on queue ${queue} (no job definition or queue handler for it here)`,
  unknownRun: (runId: string) => `unknown run ${runId}`,
  nonRetryable: (error: string) => `non-retryable failure: ${error}`,
  exhausted: (attempts: number, error: string) => `failed after ${attempts} attempt${attempts === 1 ? '' : 's'}: ${error}`,
  timedOut: (attempts: number, error: string) => `timed out on attempt ${attempts}: ${error}`,
} as const;

/** AMQP header values are limited (a long table entry costs the broker memory): keep reasons short. */
export function clip(text: string, max = 1000): string {
  return text.length > max ? `${text.slice(0, max - 3)}...` : text;
}

export function errorText(err: unknown): string {
  if (err instanceof Error) return err.message || err.name;
  return describeValue(err);
}
