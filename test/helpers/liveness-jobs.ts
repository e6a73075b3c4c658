/** The jobs of the liveness child processes and of the tests and bench that drive them. */
import { defineJob } from '../../src/define/define-job.js';

/** Run on demand; a crashed attempt is retried at once (no backoff to measure around). */
export const slowJob = defineJob({
  id: 'slow',
  retry: { maxAttempts: 3, backoff: { type: 'fixed', delay: '0s', jitter: 0 } },
  timeout: '10m',
});

/** Every second, so a new leader's first published slot comes within a second of its taking over. */
export const beatJob = defineJob({ id: 'beat', schedule: { every: '1s' }, staleAfter: null });

/** On the 10-second grid, so a test has seconds between a claimed-ahead slot and its instant (look-ahead tests). */
export const aheadJob = defineJob({ id: 'ahead', schedule: { cron: '*/10 * * * * *' }, staleAfter: null });
