/**
 * A separate process for test/store/migrate.test.ts: connects, says "ready", waits for
 * "go" on stdin (so every child migrates at the same moment), migrates, prints the result.
 * Usage: node --import tsx pg-fixtures-migrate-child.ts <databaseUrl> <schema>
 */
import pg from 'pg';
import { migrate } from '../../src/store/migrate.js';

const [url, schema] = process.argv.slice(2);
const pool = new pg.Pool({ connectionString: url, max: 2 });
// Open the connection before "ready", so the race is on migrate, not on connecting.
await (await pool.connect()).release();
process.stdout.write('ready\n');
await new Promise<void>((resolve) => process.stdin.once('data', () => resolve()));
try {
  const result = await migrate(pool, { schema });
  process.stdout.write(`${JSON.stringify({ ok: true, ...result })}\n`);
} catch (err) {
  process.stdout.write(`${JSON.stringify({ ok: false, code: (err as { code?: string }).code, message: String(err) })}\n`);
} finally {
  await pool.end();
  process.stdin.destroy();
}
