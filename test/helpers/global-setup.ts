import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { AMQP_URL, DATABASE_URL } from './env.js';

/**
 * Connects, and for RabbitMQ (`greeting`) sends the AMQP protocol header and waits for the
 * broker's first frame: a node can accept TCP yet never answer, and every test would then
 * time out one by one instead of failing here with the fix.
 */
function reachable(url: string, defaultPort: number, greeting?: Buffer): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || defaultPort) });
    socket.setTimeout(5000);
    socket.once('connect', () => {
      if (greeting === undefined) {
        socket.destroy();
        resolve(true);
        return;
      }
      socket.write(greeting);
      socket.once('data', () => {
        socket.destroy();
        resolve(true);
      });
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });
}

/** Fails the run at once, with the fix, when a service the tests need is down. */
export default async function setup(): Promise<void> {
  const missing: string[] = [];
  if (!(await reachable(DATABASE_URL, 5432)))
    missing.push(`PostgreSQL at ${DATABASE_URL} (start: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)`);
  if (!(await reachable(AMQP_URL, 5672, Buffer.from('AMQP\x00\x00\x09\x01', 'latin1')))) {
    missing.push(
      `RabbitMQ at ${AMQP_URL.replace(/\/\/[^@]*@/, '//')}, answering AMQP (start: rabbitmq-server -detached && rabbitmqctl await_startup; a node that accepts connections but never answers: bash .ci/run restarts it)`,
    );
  }
  if (missing.length > 0) throw new Error(`warren's tests use the real services; not reachable:\n  ${missing.join('\n  ')}`);
  // The example, fleet and CLI tests run the built package: build it when dist/ is missing
  // or older than the sources, so `npm test` works right after `npm ci` (a no-op after a build).
  const built = spawnSync(process.execPath, ['scripts/ensure-build.mjs'], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    stdio: 'inherit',
  });
  if (built.status !== 0) throw new Error('warren: building dist/ for the tests failed (npm run build)');
}
