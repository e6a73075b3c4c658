/**
 * The dead-letter reason text (see worker/dead-letter.ts) carries run ids and error
 * messages, unbounded as a label; its opening words name one of a few kinds.
 */
export type DeadLetterReasonKind =
  'malformed' | 'wrong_scope' | 'unknown_job' | 'unknown_run' | 'non_retryable' | 'exhausted' | 'timed_out' | 'other';

const PREFIXES: ReadonlyArray<readonly [string, DeadLetterReasonKind]> = [
  ['malformed message', 'malformed'],
  ['wrong scope ', 'wrong_scope'],
  ['unknown job ', 'unknown_job'],
  ['unknown run ', 'unknown_run'],
  ['non-retryable failure', 'non_retryable'],
  ['failed after ', 'exhausted'],
  ['timed out on attempt ', 'timed_out'],
];

export function deadLetterReasonKind(reason: string): DeadLetterReasonKind {
  for (const [prefix, kind] of PREFIXES) if (reason.startsWith(prefix)) return kind;
  return 'other';
}

/** `{scope}.jobs.{queue}`: a scope has no dots (names.ts), so it is everything before the first. */
export function scopeOfQueue(queue: string, fallback: string): string {
  const at = queue.indexOf('.jobs.');
  return at > 0 && !queue.slice(0, at).includes('.') ? queue.slice(0, at) : fallback;
}
