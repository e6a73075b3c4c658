/**
 * Are the services the integration tests use up? Asked once, before any integration file
 * runs (test/helpers/global-setup.ts), so a missing service is one clear message naming it,
 * the URL tried and the command that starts it, instead of every file timing out.
 *
 * PostgreSQL is asked for real (connect and `SELECT 1` on the test database), RabbitMQ at
 * the protocol level (the AMQP header gets the broker's first frame): a node can accept TCP
 * and never answer, and then every test would time out at connect.
 */
import { execFileSync, execSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import net from 'node:net';
import pg from 'pg';

export type ServiceName = 'PostgreSQL' | 'RabbitMQ';

export interface ServiceProblem {
  service: ServiceName;
  /** The URL tried, without its password. */
  url: string;
  /** What went wrong, in words. */
  reason: string;
  /** What to run to fix it. */
  fix: string;
  /** Nothing answers on the port: starting the locally installed service may fix it. */
  down: boolean;
}

/** The commands `.ci/run` uses on a machine with both services installed. */
export const START_POSTGRES = 'pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start';
export const START_RABBITMQ = 'rabbitmq-server -detached && rabbitmqctl await_startup';

/** A URL without its password, for messages. */
export function redact(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password !== '') parsed.password = '***';
    return parsed.toString();
  } catch {
    return url;
  }
}

const DOWN_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN']);

/** `null` when PostgreSQL at `url` answers a query, else what is wrong. */
export async function checkPostgres(url: string, timeoutMs = 5000): Promise<ServiceProblem | null> {
  const problem = (reason: string, fix: string, down: boolean): ServiceProblem => ({
    service: 'PostgreSQL',
    url: redact(url),
    reason,
    fix,
    down,
  });
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  client.on('error', () => {});
  try {
    await client.connect();
    await client.query('SELECT 1');
    return null;
  } catch (err) {
    const code = (err as { code?: string }).code;
    const message = (err as Error).message;
    if (code === '3D000') {
      const database = new URL(url).pathname.slice(1);
      return problem(`it answers, but ${message}`, `createdb -h ${new URL(url).hostname} -U postgres ${database}`, false);
    }
    if (code === '28P01' || code === '28000')
      return problem(`it refused the login: ${message}`, 'fix the user or password in WARREN_TEST_DATABASE_URL', false);
    const down = code !== undefined ? DOWN_CODES.has(code) : /timeout/i.test(message);
    return problem(`not reachable: ${message}`, START_POSTGRES, down);
  } finally {
    await client.end().catch(() => {});
  }
}

/** `null` when a RabbitMQ at `url` answers the AMQP 0-9-1 header with a frame, else what is wrong. */
export function checkRabbit(url: string, timeoutMs = 5000): Promise<ServiceProblem | null> {
  const { hostname, port } = new URL(url);
  const problem = (reason: string, fix: string, down: boolean): ServiceProblem => ({
    service: 'RabbitMQ',
    url: redact(url),
    reason,
    fix,
    down,
  });
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || 5672) });
    let connected = false;
    const done = (result: ServiceProblem | null) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(
      () =>
        done(
          connected
            ? problem(
                `it accepts connections but gave no AMQP answer within ${timeoutMs} ms (a frozen node)`,
                'restart the broker (bash .ci/run stops and starts it afresh)',
                false,
              )
            : problem(`no connection within ${timeoutMs} ms`, START_RABBITMQ, true),
        ),
      timeoutMs,
    );
    socket.once('connect', () => {
      connected = true;
      socket.write(Buffer.from('AMQP\x00\x00\x09\x01', 'latin1'));
    });
    // A frame of type 1 (method): Connection.Start.
    socket.once('data', (data) =>
      done(
        data[0] === 1 ? null : problem(`it answered, but not AMQP 0-9-1 (${data.subarray(0, 8).toString('hex')})`, START_RABBITMQ, false),
      ),
    );
    socket.once('error', (err: NodeJS.ErrnoException) =>
      done(problem(`not reachable: ${err.message}`, START_RABBITMQ, DOWN_CODES.has(err.code ?? ''))),
    );
  });
}

/** The URL names this machine's service on its standard port: one installed here may be started. */
function isLocalInstall(url: string, standardPort: number): boolean {
  const { hostname, port } = new URL(url);
  return ['127.0.0.1', 'localhost', '[::1]'].includes(hostname) && Number(port || standardPort) === standardPort;
}

/**
 * Starts the locally installed service, as `.ci/run` does; false when it is not installed
 * here or did not come up. Only for a service that is down: one that answers wrongly is
 * left alone.
 */
function startLocal(service: ServiceName, log: (line: string) => void): boolean {
  try {
    if (service === 'PostgreSQL') {
      if (!existsSync('/etc/postgresql') || !hasCommand('pg_ctlcluster')) return false;
      const version = readdirSync('/etc/postgresql').sort()[0];
      if (version === undefined) return false;
      log(`warren tests: PostgreSQL is down; starting the local cluster ${version}/main (pg_ctlcluster)`);
      execFileSync('pg_ctlcluster', ['--skip-systemctl-redirect', version, 'main', 'start'], { stdio: 'inherit', timeout: 60_000 });
      return true;
    }
    if (!hasCommand('rabbitmq-server') || !hasCommand('rabbitmqctl')) return false;
    log('warren tests: RabbitMQ is down; starting the local node (rabbitmq-server -detached)');
    execFileSync('rabbitmq-server', ['-detached'], { stdio: 'inherit', timeout: 60_000 });
    execFileSync('rabbitmqctl', ['-q', 'await_startup'], { stdio: 'inherit', timeout: 120_000 });
    return true;
  } catch (err) {
    log(`warren tests: starting ${service} failed: ${(err as Error).message}`);
    return false;
  }
}

function hasCommand(name: string): boolean {
  try {
    execSync(`command -v ${name}`, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface EnsureServicesOptions {
  databaseUrl: string;
  amqpUrl: string;
  /** Start a local service that is down (as `.ci/run` does). @default true */
  start?: boolean;
  timeoutMs?: number;
  log?: (line: string) => void;
}

/**
 * Resolves when both services answer; else throws one error naming each missing service,
 * the URL tried and how to start it. A service that is down on this machine is started
 * first when it is installed here (unless `start: false`).
 */
export async function ensureServices(options: EnsureServicesOptions): Promise<void> {
  const { databaseUrl, amqpUrl, start = true, timeoutMs = 5000, log = (line) => console.log(line) } = options;
  const checks: Array<{ startable: boolean; check: () => Promise<ServiceProblem | null> }> = [
    { startable: isLocalInstall(databaseUrl, 5432), check: () => checkPostgres(databaseUrl, timeoutMs) },
    { startable: isLocalInstall(amqpUrl, 5672), check: () => checkRabbit(amqpUrl, timeoutMs) },
  ];
  const problems: ServiceProblem[] = [];
  for (const { startable, check } of checks) {
    let problem = await check();
    if (problem?.down && start && startable && startLocal(problem.service, log)) problem = await waitFor(check, 60_000);
    if (problem) problems.push(problem);
  }
  if (problems.length > 0) {
    const error = new Error(servicesMessage(problems));
    // The message says it all: no stack of the test setup under it.
    error.stack = `Error: ${error.message}`;
    throw error;
  }
}

async function waitFor(check: () => Promise<ServiceProblem | null>, ms: number): Promise<ServiceProblem | null> {
  const until = Date.now() + ms;
  for (;;) {
    const problem = await check();
    if (problem === null || Date.now() > until) return problem;
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** The one message a run without its services fails with. */
export function servicesMessage(problems: ServiceProblem[]): string {
  const lines = problems.map((p) => `  ${p.service} at ${p.url}: ${p.reason}\n    fix: ${p.fix}`);
  return [
    `warren's integration tests use a real PostgreSQL and RabbitMQ; ${problems.map((p) => p.service).join(' and ')} not ready:`,
    ...lines,
    '  (other URLs: WARREN_TEST_DATABASE_URL, WARREN_TEST_AMQP_URL; the tests without services: npm run test:unit)',
  ].join('\n');
}
