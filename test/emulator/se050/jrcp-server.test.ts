/**
 * The JRCP v1 server over real TCP: WAIT_FOR_CARD with the ATR, APDUs, terminal info, CLOSE,
 * bytes cut anywhere, two connections to one chip, and the host's JrcpTcpTransport end to end.
 */
import t, { type Test } from 'tap';
import { connect } from 'node:net';
import { once } from 'node:events';
import { JrcpServer } from '../../../emulator/se050/jrcp/jrcp-server.js';
import { listenJrcpTcp } from '../../../emulator/se050/jrcp/tcp.js';
import { JrcpTcpTransport } from '../../../secure-element/se05x/jrcp-tcp-transport.js';
import { Se05xDevice } from '../../../secure-element/se05x/se05x-device.js';
import { newChip } from './helpers.js';

const bytes = (h: string) => Buffer.from(h.replace(/\s+/g, ''), 'hex');

async function serve(t: Test) {
  const chip = await newChip();
  const saved: string[] = [];
  const server = new JrcpServer({ chip, afterApdu: (c) => void saved.push(Buffer.from(c).toString('hex')) });
  const l = await listenJrcpTcp(server);
  t.teardown(() => l.close());
  return { chip, port: l.port, saved };
}

/** Sends raw bytes, collects `n` reply bytes. */
async function raw(port: number, out: Buffer, n: number): Promise<string> {
  const s = connect({ port, host: '127.0.0.1' });
  await once(s, 'connect');
  let got = Buffer.alloc(0);
  const done = new Promise<void>((resolve) => s.on('data', (c: Buffer) => ((got = Buffer.concat([got, c])), got.length >= n && resolve())));
  // Cut the stream into 3-byte pieces: the server must reassemble.
  for (let i = 0; i < out.length; i += 3) s.write(out.subarray(i, i + 3));
  await done;
  s.destroy();
  return got.toString('hex').toUpperCase();
}

t.test('raw JRCP exchanges', async (t) => {
  const { port } = await serve(t);
  const req = Buffer.concat([bytes('00 00 0004 00000100'), bytes('01 00 0016 00A4040010A000000396545300000001030000000000'), bytes('04 00 0000'), bytes('01 00 0005 8004002000')]);
  const got = await raw(port, req, 9 + 13 + 4 + 15);
  t.equal(got.slice(0, 18), '000000053B80800101', 'WAIT_FOR_CARD: the ATR');
  t.equal(got.slice(18, 44), '0100000903010 06FFF010B9000'.replace(/ /g, ''), 'SELECT answered in an APDU message');
  t.equal(got.slice(44, 52), '04000000', 'terminal info: same type, empty');
  t.equal(got.slice(52), '0100000B41070301006FFF010B9000', 'GetVersion');
  t.equal(await raw(port, bytes('03 00 0000'), 4), '03000000', 'CLOSE answered');
});

t.test('the host transport end to end, two connections to one chip', async (t) => {
  const { chip, port, saved } = await serve(t);
  const a = new Se05xDevice(await JrcpTcpTransport.connect({ host: '127.0.0.1', port }));
  const b = new Se05xDevice(await JrcpTcpTransport.connect({ host: '127.0.0.1', port }));
  t.teardown(() => Promise.all([a.close(), b.close()]));
  await a.select();
  await b.select();
  t.equal(Buffer.from(await a.readObject(0x7fff0206)).toString('hex'), Buffer.from(chip.uid).toString('hex'));
  await a.ensureP256();
  await a.createCounter(0x20000004, 4);
  await Promise.all([a.incrementCounter(0x20000004), b.incrementCounter(0x20000004), a.incrementCounter(0x20000004)]);
  t.equal(await b.readCounter(0x20000004), 3n, 'APDUs of both connections served one at a time');
  t.ok(saved.length > 0, 'afterApdu saw every APDU');
  await t.rejects(JrcpTcpTransport.connect({ host: '127.0.0.1', port: 1 }), { code: 'SE05X_COMM_ERROR' });
});
