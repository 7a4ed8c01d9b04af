import t from 'tap';
import { Duplex, PassThrough } from 'node:stream';
import { FrameGuard, FrameScanner } from '../../../server/enroll/frame-guard.js';
import { connectPacket, publishHead, publishPacket, remainingLength } from './raw-mqtt.js';

const LIMIT = 17 * 1024;

/** Feeds `bytes` to a fresh scanner in pieces of `step` bytes; the first violation or null. */
function scan(bytes: Buffer, step: number, limit = LIMIT) {
  const s = new FrameScanner(limit);
  for (let i = 0; i < bytes.length; i += step) {
    const v = s.push(bytes.subarray(i, i + step));
    if (v) return v;
  }
  return null;
}

t.test('scanner: valid packet streams pass, however they are split', async (t) => {
  const stream = Buffer.concat([
    connectPacket('0123456789ABCDEF01'),
    publishPacket('keyline/v1/devices/0123456789ABCDEF01/enroll/req', Buffer.alloc(16 * 1024, 0x41)),
    Buffer.from([0xc0, 0x00]), // PINGREQ: Remaining Length 0
    publishPacket('t', Buffer.alloc(127)), // a one-byte length at its maximum
    publishPacket('t', Buffer.alloc(200)), // a two-byte length
    Buffer.from([0xe0, 0x00]), // DISCONNECT
  ]);
  for (const step of [1, 2, 3, 7, 100, 4096, stream.length]) t.equal(scan(stream, step), null, `in pieces of ${step}`);
});

t.test('scanner: a declared length over the limit is refused on the header alone', async (t) => {
  for (const step of [1, 3, 1000]) {
    t.match(scan(Buffer.concat([connectPacket('x'), publishHead('t', 100 * 1024 * 1024)]), step), { kind: 'too-large', packetType: 3, limit: LIMIT });
  }
  t.equal(scan(Buffer.concat([Buffer.from([0x30]), remainingLength(LIMIT)]), 1), null, 'exactly the limit is accepted');
  t.match(scan(Buffer.concat([Buffer.from([0x30]), remainingLength(LIMIT + 1)]), 1), { kind: 'too-large', declared: LIMIT + 1 });
  t.match(scan(Buffer.concat([Buffer.from([0x10]), remainingLength(LIMIT + 1)]), 1), { kind: 'too-large', packetType: 1 }, 'CONNECT too');
  t.match(scan(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]), 1, 268_435_455), { kind: 'malformed-length' }, 'a fifth length byte (§2.2.3)');
  t.match(scan(Buffer.from([0x00, 0x00]), 1), { kind: 'reserved-type', packetType: 0 });
  t.match(scan(Buffer.from([0xf0, 0x00]), 1), { kind: 'reserved-type', packetType: 15 });
});

t.test('guard: bytes pass unchanged both ways; a violation destroys socket and guard without passing the chunk on', async (t) => {
  // The socket side: what the client writes arrives in `fromClient`; what aedes writes goes to `toClient`.
  const fromClient = new PassThrough();
  const toClient = new PassThrough();
  const socket = Duplex.from({ readable: fromClient, writable: toClient });
  socket.on('error', () => undefined);
  const violations: unknown[] = [];
  const guard = new FrameGuard(socket, LIMIT, (v) => violations.push(v));
  const read: Buffer[] = [];
  guard.on('data', (d: Buffer) => read.push(d));
  const ok = Buffer.concat([connectPacket('a'), publishPacket('t', Buffer.from('hello'))]);
  fromClient.write(ok);
  guard.write(Buffer.from([0x20, 0x02, 0x00, 0x00])); // CONNACK
  await new Promise((r) => setImmediate(r));
  t.same(Buffer.concat(read), ok, 'aedes reads what the client sent');
  t.same(toClient.read(), Buffer.from([0x20, 0x02, 0x00, 0x00]), 'the client gets what aedes wrote');
  const closed = new Promise((r) => guard.once('close', r));
  fromClient.write(publishHead('t', 50 * 1024 * 1024));
  await closed;
  t.equal(Buffer.concat(read).length, ok.length, 'nothing of the oversized packet reached aedes');
  t.match(violations, [{ kind: 'too-large' }]);
  t.ok(socket.destroyed, 'the socket is destroyed');
});

t.test('guard: the socket ending ends the guard; destroying the guard destroys the socket', async (t) => {
  const fromClient = new PassThrough();
  const socket = Duplex.from({ readable: fromClient, writable: new PassThrough() });
  socket.on('error', () => undefined);
  const guard = new FrameGuard(socket, LIMIT);
  guard.resume();
  const ended = new Promise((r) => guard.once('end', r));
  fromClient.end();
  await ended;
  guard.destroy();
  await new Promise((r) => setImmediate(r));
  t.ok(socket.destroyed);
});
