import { createHash, randomBytes } from 'node:crypto';
import t from 'tap';
import { SnSource } from '../../../secure-element/atcacert/cert-def.js';
import { encodeCompDates } from '../../../secure-element/atcacert/date.js';
import { generateSerial } from '../../../secure-element/atcacert/serial.js';

function comp(year: number, years: number): Uint8Array {
  const e = encodeCompDates({ year, month: 5, day: 17, hour: 8, minute: 0, second: 0 }, years);
  const c = new Uint8Array(72);
  c.set(e.dates, 64);
  c[67] = 0xc4;
  c[68] = 0x8b;
  c[70] = (SnSource.PUB_KEY_HASH << 4) | e.formatVersion;
  c[71] = e.ext;
  return c;
}

t.test('PUB_KEY_HASH: SHA-256(key ‖ dates) first 16 bytes, top bits 01 (atcacert_generate_sn)', async (t) => {
  for (let i = 0; i < 200; i++) {
    const publicKey = new Uint8Array(randomBytes(64));
    const c = comp(2026, 10);
    const sn = generateSerial(SnSource.PUB_KEY_HASH, 16, { publicKey, comp: c });
    const ref = createHash('sha256').update(publicKey).update(c.subarray(64, 67)).digest().subarray(0, 16);
    ref[0] = (ref[0]! & 0x7f) | 0x40;
    t.equal(Buffer.from(sn).toString('hex'), ref.toString('hex'));
    t.equal(sn[0]! & 0xc0, 0x40, 'positive and no trimmable leading byte');
  }
});

t.test('format 1 hashes byte 71 & 0xF0 as a fourth date byte', async (t) => {
  const publicKey = new Uint8Array(randomBytes(64));
  const c = comp(2050, 1);
  t.equal(c[70]! & 0x0f, 1);
  c[71] = c[71]! | 0x0f; // reserved bits must not enter the hash
  const ref = createHash('sha256').update(publicKey).update(c.subarray(64, 67)).update(Uint8Array.of(c[71]! & 0xf0)).digest();
  ref[0] = (ref[0]! & 0x7f) | 0x40;
  t.equal(Buffer.from(generateSerial(SnSource.PUB_KEY_HASH, 16, { publicKey, comp: c })).toString('hex'), ref.subarray(0, 16).toString('hex'));
});

t.test('other sources', async (t) => {
  const chipSerial = Uint8Array.from([0x01, 0x23, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0xee]);
  const c = comp(2026, 10);
  t.strictSame([...generateSerial(SnSource.DEVICE_SN, 10, { chipSerial, comp: c })], [0x40, ...chipSerial]);
  t.strictSame([...generateSerial(SnSource.SIGNER_ID, 3, { comp: c })], [0x40, 0xc4, 0x8b]);
  const raw = generateSerial(SnSource.DEVICE_SN_HASH_RAW, 32, { chipSerial, comp: c });
  t.equal(Buffer.from(raw).toString('hex'), createHash('sha256').update(chipSerial).update(c.subarray(64, 67)).digest('hex'));
  t.equal(generateSerial(SnSource.PUB_KEY_HASH_POS, 8, { publicKey: new Uint8Array(64).fill(7), comp: c })[0]! & 0x80, 0);
  t.throws(() => generateSerial(SnSource.DEVICE_SN, 10, { comp: c }), { code: 'ATCACERT_INVALID' });
  t.throws(() => generateSerial(SnSource.PUB_KEY_HASH, 33, { publicKey: new Uint8Array(64), comp: c }), { code: 'ATCACERT_INVALID' });
  t.throws(() => generateSerial(SnSource.STORED, 16, { comp: c }), { code: 'NOT_SUPPORTED' });
});
