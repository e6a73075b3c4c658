// Exit 0 when a RabbitMQ at host:port answers the AMQP 0-9-1 protocol header with a frame
// (Connection.Start), 1 otherwise. No dependencies: it runs before `npm ci`. A node can
// accept TCP and answer `rabbitmqctl` yet never read its AMQP sockets; only this tells.
import net from 'node:net';

const [host = '127.0.0.1', port = '5672', timeoutMs = '10000'] = process.argv.slice(2);
const socket = net.connect({ host, port: Number(port) });
const fail = (why) => {
  console.error(`amqp-ping ${host}:${port}: ${why}`);
  socket.destroy();
  process.exit(1);
};
const timer = setTimeout(() => fail(`no AMQP answer within ${timeoutMs} ms`), Number(timeoutMs));
socket.once('connect', () => socket.write(Buffer.from([0x41, 0x4d, 0x51, 0x50, 0, 0, 9, 1])));
socket.once('data', (data) => {
  clearTimeout(timer);
  socket.destroy();
  if (data[0] === 1) process.exit(0);
  fail(`unexpected answer ${data.subarray(0, 8).toString('hex')}`);
});
socket.once('error', (err) => fail(err.message));
