/**
 * The integration project's service check (test/helpers/services.ts) on its own, with no
 * service: a closed port, a server that accepts and never answers, and one that answers
 * the AMQP header. The shared services are never stopped for this.
 */
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { START_POSTGRES, START_RABBITMQ, checkPostgres, checkRabbit, ensureServices } from './helpers/services.js';

/** A port nothing listens on: taken from the OS, then given back. */
async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

const servers: net.Server[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => new Promise<void>((resolve) => s.close(() => resolve()))));
});

/** A TCP server on a free port: `answer` gets each connection's first bytes. */
async function fakeServer(answer: (socket: net.Socket, data: Buffer) => void): Promise<number> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.once('data', (data) => answer(socket, data));
  });
  server.on('close', () => sockets.forEach((s) => s.destroy()));
  const close = server.close.bind(server);
  server.close = (cb) => {
    sockets.forEach((s) => s.destroy());
    return close(cb);
  };
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

describe('the integration tests’ service check', () => {
  it('fails once, naming both services, the URLs tried (no password) and how to start each', async () => {
    const port = await closedPort();
    const databaseUrl = `postgres://postgres:secret@127.0.0.1:${port}/test`;
    const amqpUrl = `amqp://guest:guest@127.0.0.1:${port}`;
    const error = await ensureServices({ databaseUrl, amqpUrl, start: false, timeoutMs: 2000, log: () => {} }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    const message = (error as Error).message;
    expect(message).toContain(`PostgreSQL at postgres://postgres:***@127.0.0.1:${port}/test`);
    expect(message).toContain(`RabbitMQ at amqp://guest:***@127.0.0.1:${port}`);
    expect(message).toContain(`fix: ${START_POSTGRES}`);
    expect(message).toContain(`fix: ${START_RABBITMQ}`);
    expect(message).not.toContain('secret');
  });

  it('names a closed port as down (a local service that may be started)', async () => {
    const port = await closedPort();
    await expect(checkPostgres(`postgres://postgres@127.0.0.1:${port}/test`, 2000)).resolves.toMatchObject({
      service: 'PostgreSQL',
      down: true,
      fix: START_POSTGRES,
    });
    await expect(checkRabbit(`amqp://guest:guest@127.0.0.1:${port}`, 2000)).resolves.toMatchObject({
      service: 'RabbitMQ',
      down: true,
      fix: START_RABBITMQ,
    });
  });

  it('tells a broker that accepts connections but never answers AMQP from one that is down', async () => {
    const port = await fakeServer(() => {});
    const problem = await checkRabbit(`amqp://guest:guest@127.0.0.1:${port}`, 300);
    expect(problem).toMatchObject({ service: 'RabbitMQ', down: false });
    expect(problem?.reason).toContain('no AMQP answer');
  });

  it('accepts a broker that answers the AMQP header with a method frame', async () => {
    let header = '';
    const port = await fakeServer((socket, data) => {
      header = data.toString('latin1');
      socket.write(Buffer.from([1, 0, 0]));
    });
    await expect(checkRabbit(`amqp://guest:guest@127.0.0.1:${port}`, 2000)).resolves.toBeNull();
    expect(header).toBe('AMQP\x00\x00\x09\x01');
  });
});
