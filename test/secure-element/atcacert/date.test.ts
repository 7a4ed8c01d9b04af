import t from 'tap';
import { DateFormat } from '../../../secure-element/atcacert/cert-def.js';
import { type CertDate, decodeCompDates, encodeCompDates, readDate, writeDate } from '../../../secure-element/atcacert/date.js';

const d = (year: number, month: number, day: number, hour: number): CertDate => ({ year, month, day, hour, minute: 0, second: 0 });
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** A 72-byte compressed certificate carrying only encoded dates. */
function comp(issue: CertDate, years: number): Uint8Array {
  const e = encodeCompDates(issue, years);
  const c = new Uint8Array(72);
  c.set(e.dates, 64);
  c[70] = e.formatVersion;
  c[71] = e.ext;
  return c;
}

t.test('format-0 vectors from cryptoauthlib test_atcacert_date.c', async (t) => {
  const a = encodeCompDates(d(2021, 3, 7, 10), 28);
  t.equal(hex(a.dates), 'a99d5c');
  t.equal(a.formatVersion, 0);
  t.equal(a.ext, 0);
  t.equal(hex(encodeCompDates(d(2000, 1, 1, 0), 0).dates), '008400');
  t.strictSame(decodeCompDates(comp(d(2021, 3, 7, 10), 28)), { issue: d(2021, 3, 7, 10), expireYears: 28 });
});

t.test('format 1 carries 2032-2127 and up to 127 years in byte 71', async (t) => {
  for (const [issue, years] of [
    [d(2031, 12, 31, 23), 31],
    [d(2032, 1, 1, 0), 1],
    [d(2049, 12, 31, 23), 1],
    [d(2050, 1, 1, 0), 0],
    [d(2127, 6, 15, 12), 127],
    [d(2026, 2, 28, 5), 32],
  ] as const) {
    const e = encodeCompDates(issue, years);
    t.equal(e.formatVersion, issue.year > 2031 || years > 31 ? 1 : 0, `format for ${issue.year}+${years}`);
    t.equal(e.ext & 0x0f, 0, 'reserved nibble clear');
    t.strictSame(decodeCompDates(comp(issue, years)), { issue, expireYears: years });
  }
  // 2050 = year offset 50 = 0b0110010: low 5 bits 10010 in byte 64, bits 6-5 (01) in byte 71 bits 7-6.
  const e = encodeCompDates(d(2050, 1, 1, 0), 100);
  t.equal(e.dates[0]! >> 3, 0b10010);
  t.equal(e.ext, (0b01 << 6) | (0b11 << 4)); // 100 = 0b1100100: bits 6-5 = 11
});

t.test('encoding refuses what the format cannot carry', async (t) => {
  t.throws(() => encodeCompDates(d(1999, 12, 31, 23), 1), { code: 'ATCACERT_INVALID' });
  t.throws(() => encodeCompDates(d(2128, 1, 1, 0), 1), { code: 'ATCACERT_INVALID' });
  t.throws(() => encodeCompDates(d(2026, 1, 1, 0), 128), { code: 'ATCACERT_INVALID' });
  t.throws(() => encodeCompDates(d(2026, 2, 30, 0), 1), { code: 'ATCACERT_INVALID' });
  t.throws(() => encodeCompDates({ ...d(2026, 1, 1, 0), minute: 30 }, 1), { code: 'ATCACERT_INVALID' });
});

t.test('RFC 5280 time text', async (t) => {
  const buf = new Uint8Array(15);
  writeDate(DateFormat.RFC5280_UTC, { ...d(2013, 11, 10, 9), minute: 8, second: 7 }, buf, 0);
  t.equal(Buffer.from(buf.subarray(0, 13)).toString(), '131110090807Z');
  writeDate(DateFormat.RFC5280_GEN, { year: 9999, month: 12, day: 31, hour: 23, minute: 59, second: 59 }, buf, 0);
  t.equal(Buffer.from(buf).toString(), '99991231235959Z');
  t.strictSame(readDate(DateFormat.RFC5280_UTC, Buffer.from('491231235959Z'), 0), { year: 2049, month: 12, day: 31, hour: 23, minute: 59, second: 59 });
  t.strictSame(readDate(DateFormat.RFC5280_UTC, Buffer.from('500101000000Z'), 0).year, 1950);
  t.throws(() => writeDate(DateFormat.RFC5280_UTC, d(2050, 1, 1, 0), buf, 0), { code: 'ATCACERT_INVALID' });
  t.throws(() => readDate(DateFormat.RFC5280_UTC, Buffer.from('14A211100908Z'), 0), { code: 'ATCACERT_INVALID' });
  t.throws(() => readDate(DateFormat.RFC5280_UTC, Buffer.from('141211100908X'), 0), { code: 'ATCACERT_INVALID' });
  t.throws(() => readDate(DateFormat.RFC5280_GEN, Buffer.from('20270229000000Z'), 0), { code: 'ATCACERT_INVALID' });
  t.throws(() => readDate(DateFormat.POSIX_UINT32_BE, Buffer.alloc(4), 0), { code: 'NOT_SUPPORTED' });
});
