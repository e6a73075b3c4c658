import net from 'node:net';
import { AMQP_URL, DATABASE_URL } from './env.js';

function reachable(url: string, defaultPort: number): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = net.connect({ host: hostname, port: Number(port || defaultPort) });
    socket.setTimeout(3000);
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
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
  if (!(await reachable(DATABASE_URL, 5432))) missing.push(`PostgreSQL at ${DATABASE_URL} (start: pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start)`);
  if (!(await reachable(AMQP_URL, 5672))) missing.push(`RabbitMQ at ${AMQP_URL.replace(/\/\/[^@]*@/, '//')} (start: rabbitmq-server -detached && rabbitmqctl await_startup)`);
  if (missing.length > 0) throw new Error(`warren's tests use the real services; not reachable:\n  ${missing.join('\n  ')}`);
}
