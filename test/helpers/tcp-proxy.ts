/**
 * A small TCP proxy for fault tests: clients connect to `port`, traffic is forwarded to the
 * real broker. `cutAll()` destroys live sockets (a network cut), `pause()` refuses new
 * connections (broker unreachable), `resume()` accepts again. The shared broker never stops.
 */
import net from 'node:net';

export interface TcpProxy {
  readonly port: number;
  /** `amqp://guest:guest@127.0.0.1:{port}` style URL for the proxied target. */
  url(base: string): string;
  /** Live client connections. */
  readonly connections: number;
  /** Destroys every live connection (both sides). */
  cutAll(): void;
  /** New connections are refused (accepted and destroyed at once) until `resume()`. */
  pause(): void;
  resume(): void;
  /** Connections refused while paused: proof that a client kept trying. */
  readonly refused: number;
  readonly paused: boolean;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host?: string; port?: number } = {}, options: { paused?: boolean } = {}): Promise<TcpProxy> {
  const host = target.host ?? '127.0.0.1';
  const targetPort = target.port ?? 5672;
  const live = new Set<net.Socket>();
  let paused = options.paused ?? false;
  let refused = 0;

  const server = net.createServer((client) => {
    client.setNoDelay(true);
    if (paused) {
      refused++;
      client.destroy();
      return;
    }
    const upstream = net.connect({ host, port: targetPort });
    upstream.setNoDelay(true);
    live.add(client);
    live.add(upstream);
    const drop = () => {
      client.destroy();
      upstream.destroy();
      live.delete(client);
      live.delete(upstream);
    };
    client.on('error', drop);
    upstream.on('error', drop);
    client.on('close', drop);
    upstream.on('close', drop);
    client.pipe(upstream);
    upstream.pipe(client);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as net.AddressInfo).port;

  return {
    port,
    url(base) {
      const u = new URL(base);
      u.hostname = '127.0.0.1';
      u.port = String(port);
      return u.toString();
    },
    get connections() {
      return [...live].length / 2;
    },
    cutAll() {
      for (const socket of live) socket.destroy();
      live.clear();
    },
    pause() {
      paused = true;
    },
    resume() {
      paused = false;
    },
    get paused() {
      return paused;
    },
    get refused() {
      return refused;
    },
    async close() {
      paused = true;
      for (const socket of live) socket.destroy();
      live.clear();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
