/**
 * A throwaway RabbitMQ node on its own ports and data directory, for tests that restart
 * the broker. The shared node on 5672 is never touched.
 */
import { execFile } from 'node:child_process';
import { chownSync, mkdtempSync, rmSync, writeFileSync, chmodSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';

const exec = promisify(execFile);

export interface RabbitNode {
  readonly nodename: string;
  readonly port: number;
  /** `amqp://guest:guest@127.0.0.1:{port}` */
  readonly url: string;
  /** Starts the node (again) and waits until it accepts connections. */
  start(): Promise<void>;
  /** Stops the node; its data directory (and durable queues) stay for the next start. */
  stop(): Promise<void>;
  restart(): Promise<void>;
  /** Stops the node and deletes its data directory. */
  destroy(): Promise<void>;
  /** `rabbitmqctl -n <this node> ...args`; resolves with its stdout. */
  ctl(...args: string[]): Promise<string>;
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/** A port P with P and P+20000 (the distribution port) both free. */
async function freePortPair(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 30_000 + Math.floor(Math.random() * 15_000);
    if ((await portFree(port)) && (await portFree(port + 20_000))) return port;
  }
  throw new Error('no free port pair for a test RabbitMQ node');
}

async function idOf(flag: '-u' | '-g', user: string): Promise<number> {
  const { stdout } = await exec('id', [flag, user]);
  return Number(stdout.trim());
}

export async function startRabbitNode(token: string): Promise<RabbitNode> {
  const port = await freePortPair();
  const nodename = `warren-test-${token.replace(/[^a-z0-9-]/gi, '-')}@localhost`;
  const dir = mkdtempSync(path.join(tmpdir(), 'warren-rabbit-'));
  const uid = await idOf('-u', 'rabbitmq');
  const gid = await idOf('-g', 'rabbitmq');
  for (const sub of ['mnesia', 'log']) {
    const full = path.join(dir, sub);
    rmSync(full, { recursive: true, force: true });
  }
  writeFileSync(path.join(dir, 'rabbitmq.conf'), `listeners.tcp.local = 127.0.0.1:${port}\n`);
  writeFileSync(path.join(dir, 'enabled_plugins'), '[].\n');
  writeFileSync(path.join(dir, 'rabbitmq-env.conf'), '');
  chmodSync(dir, 0o755);
  for (const file of ['', 'rabbitmq.conf', 'enabled_plugins', 'rabbitmq-env.conf']) chownSync(path.join(dir, file), uid, gid);

  const env = {
    ...process.env,
    RABBITMQ_NODENAME: nodename,
    RABBITMQ_NODE_PORT: String(port),
    RABBITMQ_NODE_IP_ADDRESS: '127.0.0.1',
    RABBITMQ_DIST_PORT: String(port + 20_000),
    RABBITMQ_CONFIG_FILE: path.join(dir, 'rabbitmq.conf'),
    RABBITMQ_CONF_ENV_FILE: path.join(dir, 'rabbitmq-env.conf'),
    RABBITMQ_ENABLED_PLUGINS_FILE: path.join(dir, 'enabled_plugins'),
    RABBITMQ_MNESIA_BASE: path.join(dir, 'mnesia'),
    RABBITMQ_LOG_BASE: path.join(dir, 'log'),
    RABBITMQ_PID_FILE: path.join(dir, 'node.pid'),
    ERL_EPMD_ADDRESS: '127.0.0.1',
  };
  const ctl = async (...args: string[]) => (await exec('rabbitmqctl', ['-n', nodename, ...args], { env, timeout: 120_000 })).stdout;
  let running = false;

  const node: RabbitNode = {
    nodename,
    port,
    url: `amqp://guest:guest@127.0.0.1:${port}`,
    async start() {
      await exec('rabbitmq-server', ['-detached'], { env, timeout: 60_000 });
      running = true;
      // `wait` polls for the pid file and the node's startup; `await_startup` alone fails at
      // once when the node has not registered with epmd yet.
      await ctl('wait', env.RABBITMQ_PID_FILE, '--timeout', '120');
      await ctl('await_startup', '--timeout', '120');
    },
    async stop() {
      if (!running) return;
      // With the pid file, `stop` returns only once the OS process has exited, so a
      // restart does not race the old node for the listener port (eaddrinuse).
      await ctl('stop', env.RABBITMQ_PID_FILE);
      running = false;
      for (let i = 0; i < 100 && !(await portFree(port)); i++) await new Promise((r) => setTimeout(r, 100));
    },
    async restart() {
      await node.stop();
      await node.start();
    },
    async destroy() {
      await node.stop().catch(() => {});
      rmSync(dir, { recursive: true, force: true });
    },
    ctl,
  };
  await node.start();
  return node;
}
