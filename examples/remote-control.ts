// docs/control-api.md's "From another process" example, type-checked with the project
// (test/testing/remote-control-example.test.ts keeps the doc's copy identical and runs
// `quarantineFailing` on the test harness). Run it against a fleet's admin API with:
// WARREN_ADMIN_URL=https://ops.example.com/admin WARREN_ADMIN_TOKEN=… npx tsx examples/remote-control.ts
// --- docs ---
import { createAdminClient, type Control } from '../src/http/index.js';

/** Pauses every job that keeps failing, with the last error as the note; returns their ids. */
export async function quarantineFailing(control: Control, threshold = 3): Promise<string[]> {
  const paused: string[] = [];
  for (const job of await control.list()) {
    if (job.paused || job.recentFailures < threshold) continue;
    const [last] = await control.runs(job.id, { limit: 1, status: ['failed', 'dead', 'timed_out'] });
    const note = `${job.recentFailures} of the last 20 runs failed; last error: ${last?.error ?? 'unknown'}`;
    await control.pause(job.id, { note, actor: 'ops-bot' });
    paused.push(job.id);
  }
  return paused;
}

// A bot, a CLI or a cron container: a URL and a token, no database credentials.
export async function main(): Promise<void> {
  const control = createAdminClient({
    url: process.env.WARREN_ADMIN_URL ?? 'http://localhost:8095/admin',
    token: process.env.WARREN_ADMIN_TOKEN,
  });
  try {
    const paused = await quarantineFailing(control);
    console.log(paused.length === 0 ? 'all jobs healthy' : `paused: ${paused.join(', ')}`);
  } finally {
    await control.close();
  }
}
// --- /docs ---

if (import.meta.url === `file://${process.argv[1]}`) await main();
