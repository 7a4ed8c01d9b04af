/**
 * The one DER reader's strictness (issue 11): one accepted encoding per value. Shortest-form
 * lengths, minimal INTEGERs and unpadded OID arcs; the CRL test reads its output with it too.
 */
import t from 'tap';
import { childrenOf, integerHex, oidText, readTlv, unsignedIntegerBytes } from '../../../common/der/reader.js';
import { oid } from '../../../common/der/writer.js';

const hex = (s: string) => Buffer.from(s.replace(/ /g, ''), 'hex');

t.test('lengths: short form below 128, minimal long form above', async (t) => {
  t.match(readTlv(hex('0403 010203'), 0, 5), { tag: 4, value: 2, end: 5 });
  const long = Buffer.concat([hex('0481 80'), Buffer.alloc(128)]);
  t.match(readTlv(long, 0, long.length), { value: 3, end: 131 });
  const long2 = Buffer.concat([hex('0482 0100'), Buffer.alloc(256)]);
  t.match(readTlv(long2, 0, long2.length), { value: 4, end: 260 });
  t.throws(() => readTlv(hex('0481 03 010203'), 0, 6), { code: 'MALFORMED_DER' }, 'long form for 3');
  t.throws(() => readTlv(Buffer.concat([hex('0482 0080'), Buffer.alloc(128)]), 0, 132), { code: 'MALFORMED_DER' }, 'leading zero length octet');
  t.throws(() => readTlv(hex('3080 0000'), 0, 4), { code: 'MALFORMED_DER' }, 'indefinite');
  t.throws(() => readTlv(hex('0405 0102'), 0, 4), { code: 'MALFORMED_DER' }, 'past the end');
  t.throws(() => readTlv(hex('1f01 00'), 0, 3), { code: 'MALFORMED_DER' }, 'high tag number');
  const seq = hex('3006 0201 01 0201 02');
  t.equal(childrenOf(seq, readTlv(seq, 0, seq.length)).length, 2);
});

t.test('INTEGER: minimal, non-negative', async (t) => {
  const int = (h: string) => { const b = hex(h); return integerHex(b, readTlv(b, 0, b.length)); };
  t.equal(int('0201 00'), '0');
  t.equal(int('0202 4a01'), '4a01');
  t.equal(int('0203 00ff01'), 'ff01');
  t.throws(() => int('0203 004a01'), { code: 'MALFORMED_DER' }, 'redundant 00');
  t.throws(() => int('0202 0000'), { code: 'MALFORMED_DER' }, 'zero padded');
  t.throws(() => int('0202 ff81'), { code: 'MALFORMED_DER' }, 'negative (and a redundant FF)');
  t.throws(() => int('0200'), { code: 'MALFORMED_DER' }, 'empty');
});

t.test('OBJECT IDENTIFIER: arcs without padding, none truncated', async (t) => {
  const o = (h: string) => { const b = hex(h); return oidText(b, readTlv(b, 0, b.length)); };
  t.equal(o('0605 2b0e03021a'), '1.3.14.3.2.26');
  t.equal(o('0609 608648016503040201'), '2.16.840.1.101.3.4.2.1');
  t.throws(() => o('0606 2b800e03021a'), { code: 'MALFORMED_DER' }, 'padded arc');
  t.throws(() => o('0606 802b0e03021a'), { code: 'MALFORMED_DER' }, 'padded first arc');
  t.throws(() => o('0605 2b0e030286'), { code: 'MALFORMED_DER' }, 'truncated last arc');
  t.throws(() => o('0600'), { code: 'MALFORMED_DER' }, 'empty');
});

t.test('OBJECT IDENTIFIER: a first subidentifier of two octets (2.999)', async (t) => {
  const o = (h: string) => { const b = hex(h); return oidText(b, readTlv(b, 0, b.length)); };
  t.equal(o('0603 883701'), '2.999.1');
  t.equal(o('0603 550403'), '2.5.4.3');
  t.equal(oid('2.999.1').toString('hex'), '0603883701', 'the writer encodes it the same way');
});

t.test('INTEGER value octets: the sign octet dropped, nothing else', async (t) => {
  const bytes = (h: string) => { const b = hex(h); return Buffer.from(unsignedIntegerBytes(b, readTlv(b, 0))).toString('hex'); };
  t.equal(bytes('0201 00'), '00');
  t.equal(bytes('0202 0080'), '80');
  t.equal(bytes('0202 7f01'), '7f01');
  t.throws(() => bytes('0202 0001'), { code: 'MALFORMED_DER' }, 'redundant 00');
  t.throws(() => bytes('0201 80'), { code: 'MALFORMED_DER' }, 'negative');
});
