import t from 'tap';
import { createHash, createPublicKey, verify } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { createBlankChip } from '../../../emulator/atecc608/factory.js';
import { KitServer, kitAddressOf } from '../../../emulator/kit/kit-server.js';
import { listenKitTcp } from '../../../emulator/kit/tcp.js';
import { KitTcpTransport } from '../../../secure-element/transports/kit-tcp.js';
import { AteccDevice } from '../../../secure-element/device.js';
import { encodeCommand } from '../../../secure-element/packet.js';
import { duplexPair } from '../../secure-element/duplex-pair.js';
import { provision } from '../../secure-element/fixtures.js';

/** A raw line client on an in-memory stream to `server`. */
function rawClient(server: KitServer) {
  const [host, kit] = duplexPair();
  server.handle(kit);
  host.setEncoding('latin1');
  let buf = '';
  const lines: string[] = [];
  const waiters: ((l: string) => void)[] = [];
  host.on('data', (c: string) => {
    buf += c;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      const w = waiters.shift();
      if (w) w(l);
      else lines.push(l);
    }
  });
  host.on('error', () => undefined);
  const next = () => (lines.length ? Promise.resolve(lines.shift()!) : new Promise<string>((r) => waiters.push(r)));
  return {
    host: host as Duplex,
    send: (s: string) => host.write(s),
    next,
    ask: (s: string) => {
      host.write(s);
      return next();
    },
  };
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();

t.test('discovery and selection: index -> device line -> address', async (t) => {
  const server = new KitServer({ chips: [createBlankChip(), createBlankChip(), createBlankChip()] });
  const c = rawClient(server);
  t.equal(await c.ask('board:device(00)\n'), 'ECC608 TWI 00(C0)');
  t.equal(await c.ask('board:device(02)\n'), 'ECC608 TWI 00(C2)');
  t.equal(await c.ask('board:device(03)\n'), 'E0()', 'unknown index');
  t.equal(await c.ask('E:physical:select(C2)\n'), '00()');
  t.equal(await c.ask('E:w()\n'), '00(04113343)');
  t.equal(await c.ask(`E:t(${hex(encodeCommand({ opcode: 0x30, param1: 0, param2: 0, data: new Uint8Array() }))})\n`), '00(0700006002803 8)'.replace(' ', ''));
  t.equal(await c.ask('E:i()\n'), '00()');
  t.equal(await c.ask('ecc:physical:interface:i2c\n'), '00()', 'interface selection accepted');
  t.equal(await c.ask('e:wake()\n'), '00(04113343)', 'case-insensitive, whole words too (kit firmware parser)');
  t.equal(await c.ask('e:sleep()\n'), '00()');
  server.close();
});

t.test('addresses stay distinct past 256 chips', async (t) => {
  const seen = new Set<number>();
  for (let i = 0; i < 1000; i++) seen.add(kitAddressOf(i));
  t.equal(seen.size, 1000);
  t.equal(kitAddressOf(0), 0xc0);
  t.equal(kitAddressOf(0x3f), 0xff);
  t.equal(kitAddressOf(0x40), 0x00);
  t.equal(kitAddressOf(300), 300);
});

t.test('bad input gets an error line, never a crash or a hang, and the connection survives', async (t) => {
  const server = new KitServer({ chips: [createBlankChip()] });
  const c = rawClient(server);
  t.equal(await c.ask('E:w()\n'), 'F9()', 'a device request before any select');
  t.equal(await c.ask('E:physical:select(77)\n'), 'F9()', 'select of an unknown address');
  t.equal(await c.ask('hello world\n'), 'E2()', 'malformed line');
  t.equal(await c.ask('E:frobnicate()\n'), 'E2()', 'unknown verb');
  t.equal(await c.ask('Q:w()\n'), 'E2()', 'unknown target');
  t.equal(await c.ask('board:device(ZZ)\n'), 'E0()', 'bad index');
  t.equal(await c.ask('E:physical:select(C0)\n'), '00()');
  t.equal(await c.ask('E:t(0730)(\n'), 'E2()', 'unbalanced brackets');
  t.equal(await c.ask('E:t(07300)\n'), 'E2()', 'odd hex');
  t.equal(await c.ask('E:t(07G0000000035D)\n'), 'E2()', 'not hex');
  t.equal(await c.ask('E:t()\n'), 'E4()', 'empty packet');
  t.equal(await c.ask('E:w\n'), 'E2()', 'no brackets');
  // Overlong line: capped at 1,024 characters, answered once at its newline.
  c.send('E:t(' + 'A'.repeat(5000));
  c.send('B'.repeat(3000) + ')\n');
  t.equal(await c.next(), 'E4()');
  // Truncated and corrupt packets reach the chip, which answers with a status inside the packet.
  t.equal(await c.ask('E:w()\n'), '00(04113343)');
  t.equal(await c.ask('E:t(07300000)\n'), '00(04FF0142)', 'count says 7, 4 bytes sent: chip answers 0xFF');
  t.equal(await c.ask('E:t(0730000000035E)\n'), '00(04FF0142)', 'bad CRC: 0xFF');
  t.equal(await c.ask('E:t(0730000000035D)\n'), '00(070000600280 38)'.replace(' ', ''), 'still working afterwards');
  // Empty lines (a host flushing the parser) get no reply; NUL padding is ignored.
  c.send('\n\r\n');
  t.equal(await c.ask('\0\0E:i()\0\n'), '00()');
  server.close();
});

t.test('a chip that swallows a wake or a command answers D0() / E7()', async (t) => {
  const server = new KitServer({ chips: [createBlankChip({ faults: { noResponseRate: 1, rng: () => 0 } })] });
  const c = rawClient(server);
  await c.ask('E:physical:select(C0)\n');
  t.equal(await c.ask('E:w()\n'), 'D0()');
  t.equal(await c.ask('E:t(0730000000035D)\n'), 'E7()');
  server.close();
});

t.test('a throwing chip model answers E0() and the server goes on', async (t) => {
  const chip = createBlankChip();
  const bad = { ...chip, serialNumber: chip.serialNumber, wake: () => chip.wake(), idle: () => chip.idle(), sleep: () => chip.sleep(), execute: () => { throw new Error('model bug'); } };
  const server = new KitServer({ chips: [bad] });
  const c = rawClient(server);
  await c.ask('E:physical:select(C0)\n');
  t.equal(await c.ask('E:t(0730000000035D)\n'), 'E0()');
  t.equal(await c.ask('E:w()\n'), '00(04113343)');
  server.close();
});

t.test('two connections signing on one chip at once are serialised per session', async (t) => {
  const chip = createBlankChip();
  const listener = await listenKitTcp(new KitServer({ chips: [chip] }));
  t.teardown(() => listener.close());
  const a = new AteccDevice(await KitTcpTransport.open(listener.host, listener.port));
  const b = new AteccDevice(await KitTcpTransport.open(listener.host, listener.port));
  t.teardown(() => Promise.all([a.close(), b.close()]));
  await provision(a);
  const xy = await a.genKey(0);
  const key = createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(xy.subarray(0, 32)).toString('base64url'), y: Buffer.from(xy.subarray(32)).toString('base64url') }, format: 'jwk' });
  // Each Sign is Nonce (TempKey) then Sign: interleaving would sign the other connection's digest.
  const jobs = [];
  for (let i = 0; i < 25; i++) {
    for (const [name, dev] of [['a', a], ['b', b]] as const) {
      const msg = `${name}${i}`;
      jobs.push(dev.signDigest(0, createHash('sha256').update(msg).digest()).then((sig) => verify('sha256', Buffer.from(msg), { key, dsaEncoding: 'ieee-p1363' }, sig)));
    }
  }
  const ok = await Promise.all(jobs);
  t.equal(ok.filter(Boolean).length, 50, 'every signature is over its own digest');
});

t.test('afterCommand runs before the reply is written', async (t) => {
  const order: string[] = [];
  const server = new KitServer({
    chips: [createBlankChip()],
    afterCommand: async (index, frame) => {
      await new Promise((r) => setTimeout(r, 20));
      order.push(`saved ${index} op ${frame[1]!.toString(16)}`);
    },
  });
  const c = rawClient(server);
  await c.ask('E:physical:select(C0)\n');
  await c.ask('E:w()\n');
  const reply = await c.ask('E:t(0730000000035D)\n');
  order.push('reply');
  t.equal(reply.slice(0, 3), '00(');
  t.same(order, ['saved 0 op 30', 'reply']);
  server.close();
});

t.test('a connection that dies mid-session frees the chip for others', async (t) => {
  const server = new KitServer({ chips: [createBlankChip()], sessionLimitMs: 60_000 });
  const a = rawClient(server);
  await a.ask('E:physical:select(C0)\n');
  await a.ask('E:w()\n'); // owns the chip until idle
  const b = rawClient(server);
  await b.ask('E:physical:select(C0)\n');
  const pending = b.ask('E:w()\n');
  a.host.destroy();
  t.equal(await pending, '00(04113343)');
  server.close();
});

t.test('session ownership lapses after the limit (a host that never idles)', async (t) => {
  const server = new KitServer({ chips: [createBlankChip()], sessionLimitMs: 50 });
  const a = rawClient(server);
  await a.ask('E:physical:select(C0)\n');
  await a.ask('E:w()\n');
  const b = rawClient(server);
  await b.ask('E:physical:select(C0)\n');
  t.equal(await b.ask('E:w()\n'), '00(04113343)');
  server.close();
});

t.test('a host flooding requests without waiting gets every reply, in order', async (t) => {
  const server = new KitServer({ chips: [createBlankChip()] });
  const c = rawClient(server);
  await c.ask('E:physical:select(C0)\n');
  c.send('E:w()\n' + 'E:t(0730000000035D)\n'.repeat(500) + 'E:i()\n');
  t.equal(await c.next(), '00(04113343)');
  let ok = 0;
  for (let i = 0; i < 500; i++) if ((await c.next()) === '00(07000060028038)') ok++;
  t.equal(ok, 500);
  t.equal(await c.next(), '00()');
  server.close();
});
