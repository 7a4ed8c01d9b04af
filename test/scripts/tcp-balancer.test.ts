/**
 * The scale run's TCP balancer: bytes pass through untouched (a TLS handshake with a client
 * certificate ends at the backend), connections alternate between backends, a backend that
 * refuses is skipped, and a backend that dies closes the client connections it carried.
 */
import t from 'tap';
import { connect, createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { startTcpBalancer } from '../../scripts/tcp-balancer.js';
import { freePort } from '../../bench/lib.js';

/** A backend that answers every line with its name and the line. */
async function backend(name: string): Promise<{ server: Server; port: number; sockets: Set<Socket> }> {
  const sockets = new Set<Socket>();
  const server = createServer((s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('data', (d) => s.write(`${name}:${d.toString()}`));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => {
    for (const s of sockets) s.destroy();
    server.close(() => r());
  }));
  return { server, port: (server.address() as AddressInfo).port, sockets };
}

/** Opens a connection through the balancer and sends one message; resolves with the answer. */
function ask(port: number, msg: string): Promise<{ answer: string; socket: Socket }> {
  return new Promise((resolve, reject) => {
    const s = connect(port, '127.0.0.1', () => s.write(msg));
    s.once('data', (d) => resolve({ answer: d.toString(), socket: s }));
    s.once('error', reject);
  });
}

t.test('round robin, bytes passed through', async (t) => {
  const [a, b] = [await backend('a'), await backend('b')];
  const lb = await startTcpBalancer({ backends: [a, b].map((x) => ({ host: '127.0.0.1', port: x.port })) });
  t.teardown(() => lb.close());
  const answers: string[] = [];
  for (let i = 0; i < 4; i++) {
    const { answer, socket } = await ask(lb.port, `m${i}`);
    answers.push(answer);
    socket.destroy();
  }
  t.same(answers, ['a:m0', 'b:m1', 'a:m2', 'b:m3']);
  t.same(lb.stats(), { perBackend: [2, 2], refused: 0 });
});

t.test('a backend that refuses is skipped; all down closes the client', async (t) => {
  const a = await backend('a');
  const dead = await freePort();
  const lb = await startTcpBalancer({ backends: [{ host: '127.0.0.1', port: dead }, { host: '127.0.0.1', port: a.port }], downMs: 60_000 });
  t.teardown(() => lb.close());
  for (let i = 0; i < 3; i++) {
    const { answer, socket } = await ask(lb.port, 'x');
    t.equal(answer, 'a:x');
    socket.destroy();
  }
  t.equal(lb.stats().perBackend[1], 3);
  await new Promise<void>((r) => {
    for (const s of a.sockets) s.destroy();
    a.server.close(() => r());
  });
  const s = connect(lb.port, '127.0.0.1');
  s.on('error', () => undefined);
  await new Promise((r) => s.once('close', r));
  t.equal(lb.stats().refused, 1, 'no backend: the client connection is closed');
});

t.test('a backend that dies closes the connections it carried', async (t) => {
  const a = await backend('a');
  const lb = await startTcpBalancer({ backends: [{ host: '127.0.0.1', port: a.port }] });
  t.teardown(() => lb.close());
  const { socket } = await ask(lb.port, 'hello');
  const closed = new Promise((r) => socket.once('close', r));
  for (const s of a.sockets) s.destroy();
  await closed;
  t.pass('client connection closed with the backend');
});
