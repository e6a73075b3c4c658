/**
 * A throwaway PgBouncer (Debian's `pgbouncer`) in transaction pooling mode, on its own port
 * with its own configuration in a temporary directory, in front of the test PostgreSQL.
 * Runs in the foreground as a child of the test process (as the `postgres` user: PgBouncer
 * refuses to run as root) and is stopped by `stop()`.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { DATABASE_URL } from './env.js';
import { waitFor } from './wait.js';

export interface PgBouncer {
  readonly port: number;
  /** DATABASE_URL with its host and port replaced by PgBouncer's. */
  readonly url: string;
  /** `SHOW STATS` of PgBouncer's admin console: transactions and queries it passed per database. */
  stats(): Promise<Array<{ database: string; total_xact_count: string; total_query_count: string }>>;
  stop(): Promise<void>;
}

/** Whether the `pgbouncer` binary is installed (CI installs it: .ci/run). */
export function pgbouncerInstalled(): boolean {
  try {
    execFileSync('pgbouncer', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

export async function startPgBouncer(): Promise<PgBouncer> {
  const target = new URL(DATABASE_URL);
  const user = decodeURIComponent(target.username || 'postgres');
  const port = await freePort();
  const dir = mkdtempSync(path.join(tmpdir(), 'warren-pgbouncer-'));
  chmodSync(dir, 0o755);
  const ini = path.join(dir, 'pgbouncer.ini');
  const users = path.join(dir, 'userlist.txt');
  writeFileSync(users, `"${user}" "${decodeURIComponent(target.password)}"\n`, { mode: 0o644 });
  writeFileSync(
    ini,
    [
      '[databases]',
      `* = host=${target.hostname} port=${target.port || 5432}`,
      '[pgbouncer]',
      'listen_addr = 127.0.0.1',
      `listen_port = ${port}`,
      'unix_socket_dir =',
      // The test PostgreSQL trusts local connections; PgBouncer passes the user through.
      'auth_type = trust',
      `auth_file = ${users}`,
      `admin_users = ${user}`,
      'pool_mode = transaction',
      'max_client_conn = 500',
      'default_pool_size = 20',
      // node-postgres sends none of these by default; a host's driver may.
      'ignore_startup_parameters = extra_float_digits,options',
      '',
    ].join('\n'),
    { mode: 0o644 },
  );
  const args = process.getuid?.() === 0 ? ['-u', 'postgres', ini] : [ini];
  const child: ChildProcess = spawn('pgbouncer', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (log = (log + chunk).slice(-5000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const url = new URL(DATABASE_URL);
  url.hostname = '127.0.0.1';
  url.port = String(port);
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) {
      // SIGINT: PgBouncer's "safe shutdown", which does not wait for clients to leave.
      child.kill('SIGINT');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    rmSync(dir, { recursive: true, force: true });
  };
  const bouncer: PgBouncer = {
    port,
    url: url.toString(),
    async stats() {
      const admin = new pg.Client({ host: '127.0.0.1', port, user, database: 'pgbouncer' });
      await admin.connect();
      try {
        // The admin console speaks the simple query protocol only: no parameters.
        return (await admin.query('SHOW STATS')).rows;
      } finally {
        await admin.end();
      }
    },
    stop,
  };
  try {
    await waitFor(
      async () => {
        if (child.exitCode !== null) throw new Error(`pgbouncer exited (${child.exitCode}): ${log}`);
        const client = new pg.Client({ connectionString: bouncer.url });
        client.on('error', () => {});
        await client.connect();
        await client.query('SELECT 1');
        await client.end();
        return true;
      },
      'pgbouncer to accept connections',
      { timeoutMs: 20_000, intervalMs: 100 },
    );
  } catch (err) {
    await stop();
    throw err;
  }
  return bouncer;
}
