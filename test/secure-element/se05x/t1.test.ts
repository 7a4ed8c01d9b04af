/**
 * T=1 over I²C: the CRC against its published check value and the RESYNCH exchange as NXP's
 * T1oI2C logs show it (5A C0 00 FF FC / A5 E0 00 3F 19), block coding, and the transport driven
 * against a test double of the SE side (chaining both ways, WTX, a damaged frame asked again).
 */
import t from 'tap';
import { decodeBlock, encodeBlock, Nad, SType } from '../../../secure-element/se05x/t1/t1-block.js';
import { crc16X25 } from '../../../secure-element/se05x/t1/t1-crc.js';
import { T1Transport, type I2cLink } from '../../../secure-element/se05x/t1/t1-transport.js';
import { Se05xDevice } from '../../../secure-element/se05x/se05x-device.js';
import { newChip } from '../../emulator/se050/helpers.js';

const hx = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();

t.test('CRC-16/X-25 and published frames', async (t) => {
  t.equal(crc16X25(new TextEncoder().encode('123456789')), 0x906e, 'catalogue check value');
  t.equal(hx(encodeBlock({ kind: 'S', response: false, type: SType.RESYNCH, inf: new Uint8Array(0) })), '5AC000FFFC', 'S(RESYNCH request)');
  t.equal(hx(encodeBlock({ kind: 'S', response: true, type: SType.RESYNCH, inf: new Uint8Array(0) }, Nad.SE_TO_HOST)), 'A5E0003F19', 'S(RESYNCH response)');
  t.match(decodeBlock(Buffer.from('A5E0003F19', 'hex')), { ok: true, nad: 0xa5, block: { kind: 'S', response: true, type: 0 } });
  t.same(decodeBlock(Buffer.from('A5E0003F18', 'hex')), { ok: false, error: 'crc' });
  t.same(decodeBlock(Buffer.from('A5E001', 'hex')), { ok: false, error: 'length' });
  const i = encodeBlock({ kind: 'I', ns: 1, more: true, inf: Uint8Array.of(1, 2, 3) });
  t.equal(hx(i.subarray(0, 3)), '5A6003', 'I-block PCB: N(S)=1 (bit 6), M (bit 5)');
  t.match(decodeBlock(i), { ok: true, block: { kind: 'I', ns: 1, more: true } });
  t.equal(hx(encodeBlock({ kind: 'R', nr: 1, error: 1 }).subarray(0, 3)), '5A9100', 'R-block PCB: N(R)=1 (bit 4), CRC error');
  t.throws(() => encodeBlock({ kind: 'I', ns: 0, more: false, inf: new Uint8Array(255) }), RangeError);
});

/** The SE side over a fake bus: T=1 card behaviour in front of the emulator, with knobs for faults. */
function fakeSe(chip: Awaited<ReturnType<typeof newChip>>, o: { wtxFirst?: boolean; damageFirst?: boolean; ifsd?: number } = {}): I2cLink & { log: string[] } {
  const out: Uint8Array[] = [];
  const log: string[] = [];
  let rx: Uint8Array[] = [];
  let pending: Uint8Array[] = [];
  let ns = 0;
  let damage = o.damageFirst ?? false;
  let wtx = o.wtxFirst ?? false;
  const send = (b: Parameters<typeof encodeBlock>[0]) => out.push(encodeBlock(b, Nad.SE_TO_HOST));
  const sendNextChunk = () => {
    const chunk = pending.shift()!;
    send({ kind: 'I', ns: ns as 0 | 1, more: pending.length > 0, inf: chunk });
    ns ^= 1;
  };
  return {
    log,
    async write(frame) {
      const d = decodeBlock(frame);
      if (!d.ok) throw new Error('host sent a bad frame');
      const b = d.block;
      log.push(b.kind);
      if (b.kind === 'S' && b.response) return; // the host's WTX response
      if (b.kind === 'S') return void send({ kind: 'S', response: true, type: b.type, inf: b.type === SType.GET_ATR ? Uint8Array.of(0x3b, 0x80) : new Uint8Array(0) });
      if (b.kind === 'R') {
        if (b.error) return; // the good copy is already queued (see read)
        return sendNextChunk();
      }
      rx.push(b.inf);
      if (b.more) return void send({ kind: 'R', nr: (b.ns ^ 1) as 0 | 1, error: 0 });
      const r = chip.transmit(Uint8Array.from(Buffer.concat(rx))).response!;
      rx = [];
      if (wtx) {
        wtx = false;
        send({ kind: 'S', response: false, type: SType.WTX, inf: Uint8Array.of(1) });
      }
      const size = o.ifsd ?? 254;
      pending = [];
      for (let i = 0; i < r.length; i += size) pending.push(r.subarray(i, i + size));
      sendNextChunk();
    },
    async read() {
      const f = out.shift();
      if (!f) throw new Error('nothing to read');
      if (damage && f[1]! < 0x80) {
        damage = false;
        const bad = f.slice();
        bad[bad.length - 1]! ^= 0xff;
        // Keep the good copy for the retransmission the host will ask for.
        out.unshift(f);
        return bad;
      }
      return f;
    },
    async close() {},
  };
}

t.test('T=1 transport: open, chaining both ways, WTX, a damaged answer asked again', async (t) => {
  const chip = await newChip('7.2');
  const link = fakeSe(chip, { wtxFirst: true, ifsd: 64 });
  const tr = await T1Transport.open(link);
  t.equal(hx(tr.atr), '3B80', 'ATR from S(GET ATR)');
  const dev = new Se05xDevice(tr);
  t.equal(hx(await dev.select()), '0702003FFF010B', 'SELECT through T=1 (after a WTX)');
  await dev.ensureP256();
  const data = Uint8Array.from({ length: 600 }, (_, i) => i & 0xff);
  await dev.writeBinary(0x20000002, data, undefined, 600);
  t.equal(hx(await dev.readObject(0x20000002)), hx(data), '600 bytes out in 3 chained I-blocks, back in 10 of 64 bytes');
  t.ok(link.log.filter((k) => k === 'R').length >= 9, 'the host acknowledged each chained answer block');

  const link2 = fakeSe(await newChip('3.1'), { damageFirst: true });
  const dev2 = new Se05xDevice(await T1Transport.open(link2));
  t.equal((await dev2.select()).length, 7, 'a damaged answer is asked again with an R-block and then read');
});
