/**
 * The SE05x codec against the bytes NXP's middleware was observed to send (reference/se050.md
 * §4 "Obs examples", §5 policy bytes, §6 attribute bytes), the ISO 7816-4 cases, the TLV length
 * forms and JRCP v1 framing.
 */
import t from 'tap';
import { buildCommandApdu, parseCommandApdu, parseResponseApdu } from '../../../common/se05x/apdu.js';
import { parseAttributes, encodeAttributes } from '../../../common/se05x/attestation-format.js';
import { encodeJrcp, JrcpDecoder } from '../../../common/se05x/jrcp.js';
import { encodePolicy, parsePolicy } from '../../../common/se05x/policy.js';
import { parseTlvs, tlv } from '../../../common/se05x/tlv.js';
import * as cmd from '../../../secure-element/se05x/commands.js';
import { Se050Policy } from '../../../secure-element/se05x/object-map.js';

const hx = (b: Uint8Array) => Buffer.from(b).toString('hex').toUpperCase();
const bytes = (h: string) => Uint8Array.from(Buffer.from(h.replace(/\s+/g, ''), 'hex'));

t.test('published command bytes (reference/se050.md §4, observed from NXP binaries)', async (t) => {
  t.equal(hx(cmd.generateEcKey(0x20000001)), '80016100094104200000014201' + '03', 'generate EC key 20000001 on P-256');
  const digest = new Uint8Array(32).fill(0xab);
  t.equal(hx(cmd.ecdsaSign(0xef000074, digest)), '80030C092B4104EF00007442012143' + '20' + 'AB'.repeat(32), 'ECDSASign with algo 21');
  t.equal(hx(cmd.readObject(0xf0000012)), '80020000000006' + '4104F0000012' + '0000', 'read the attestation public key, extended');
  t.equal(hx(cmd.readObject(0x7fff0206, { length: 0x12 })), '8002000000000A' + '41047FFF0206' + '43020012' + '0000', 'read the UID with a length');
  t.equal(hx(cmd.selectApplet()), '00A4040010A0000003965453000000010300000000' + '00', 'SELECT with Le 00');
  t.equal(hx(cmd.getVersion()), '8004002000', 'GetVersion: lone 00');
  t.equal(hx(cmd.getTimestamp()), '8004003D00', 'GetTimestamp');
  t.equal(hx(cmd.readCryptoObjectList()), '8002102500', 'ReadCryptoObjectList');
  t.equal(hx(cmd.readCurveList()), '80020B2500', 'ReadECCurveList');
  t.equal(hx(cmd.createCurve()), '80010B0403410103', 'CreateECCurve P-256');
  t.equal(hx(cmd.readIdList(0)), '80020025' + '000007' + '41020000' + '4201FF' + '0000', 'ReadIDList from 0, every type');
  t.equal(hx(cmd.getRandom(16)), '800400490441020010');
  t.equal(hx(cmd.getFreeMemory(1)), '8004002203410101');
  t.equal(hx(cmd.checkObjectExists(0x20000001)), '80040027064104' + '20000001');
  t.equal(hx(cmd.deleteSecureObject(0x20000001)), '80040028064104' + '20000001');
});

t.test('policy bytes (reference/se050.md §5)', async (t) => {
  t.equal(hx(encodePolicy(parsePolicy(bytes('08 00000000 00340000'))!)), '080000000000340000', 'READ|WRITE|DELETE round-trips');
  t.same(parsePolicy(bytes('08 00000000 13F48000')), [{ authId: 0, ar: 0x13f48000 }], "ex_policy's rule (no VERIFY)");
  t.equal(hx(encodePolicy(Se050Policy.deviceKey)), '080000000010200000', 'device key: SIGN|READ');
  t.equal(hx(cmd.generateEcKey(0x20000001, Se050Policy.deviceKey)), '800161001411090800000000102000004104200000014201' + '03', 'generate with the device-key policy');
  t.equal(parsePolicy(bytes('07 00000000 001000')), null, 'an entry under 8 bytes is malformed');
  t.equal(parsePolicy(bytes('08 00000000 0010')), null, 'an entry past the end is malformed');
});

t.test('3.x attributes as observed (reference/se050.md §6)', async (t) => {
  const obs = bytes('00F5EFFA 0B 01 0000 00000000 0000 08 00000000 00340000 01');
  const a = parseAttributes(obs, '3.1');
  t.same(a, { id: 0x00f5effa, type: 0x0b, authObject: false, attempts: 0, owner: 0, maxAttempts: 0, policy: [{ authId: 0, ar: 0x00340000 }], origin: 1 });
  t.equal(hx(encodeAttributes(a!, '3.1')), hx(obs), 're-encodes to the same bytes');
  const v72 = encodeAttributes({ ...a!, version: 7 }, '7.2');
  t.equal(hx(v72), hx(obs) + '00000007', '7.2 appends the 4-byte version');
  t.equal(parseAttributes(v72, '7.2')?.version, 7);
});

t.test('ISO 7816-4 cases, short and extended', async (t) => {
  const p = (h: string) => parseCommandApdu(bytes(h));
  t.match(p('80040020'), { ok: true, apdu: { case: 1, data: new Uint8Array(0), ne: undefined } }, 'case 1');
  t.match(p('8004002000'), { ok: true, apdu: { case: 2, ne: 256, extended: false } }, 'case 2S: Le 00 = 256');
  t.match(p('8004002010'), { ok: true, apdu: { case: 2, ne: 16 } }, 'case 2S');
  t.match(p('80040027064104200000 01'), { ok: true, apdu: { case: 3, extended: false } }, 'case 3S (short Lc, no Le)');
  t.match(p('80040027064104200000 01 00'), { ok: true, apdu: { case: 4, ne: 256 } }, 'case 4S');
  t.match(p('80040020 000000'), { ok: true, apdu: { case: 2, ne: 65536, extended: true } }, 'case 2E: Le 0000 = 65,536');
  t.match(p('80020000 000006 4104F0000012'), { ok: true, apdu: { case: 3, extended: true } }, 'case 3E');
  const four = p('80020000 000006 4104F0000012 0000');
  t.match(four, { ok: true, apdu: { case: 4, extended: true, ne: 65536 } }, 'case 4E');
  if (four.ok) t.equal(hx(four.apdu.withoutLe), '800200000000064104F0000012', 'withoutLe drops the 2-byte Le');
  for (const bad of ['800400', '80040027 05 4104', '80040027 02 4104 00 00', '80020000 0000', '80020000 000000 00', '80020000 000006 4104F00000']) {
    t.same(p(bad), { ok: false, sw: 0x6700 }, `${bad} is 6700`);
  }
  const body = new Uint8Array(300).fill(1);
  const big = buildCommandApdu([0x80, 0x01, 0x06, 0x00], body);
  t.equal(hx(big.subarray(0, 7)), '8001060000012C', 'a body over 255 bytes goes extended');
  t.match(parseCommandApdu(big), { ok: true, apdu: { case: 3, extended: true } });
  t.same(parseResponseApdu(bytes('41019000')), { data: bytes('4101'), sw: 0x9000 });
  t.equal(parseResponseApdu(bytes('90')), null);
});

t.test('TLV length forms', async (t) => {
  t.equal(hx(tlv(0x41, new Uint8Array(0x7f))).slice(0, 4), '417F');
  t.equal(hx(tlv(0x41, new Uint8Array(0x80))).slice(0, 6), '418180');
  t.equal(hx(tlv(0x41, new Uint8Array(0x100))).slice(0, 8), '41820100');
  t.same(parseTlvs(bytes('4101AA 4281 01BB 43820001CC')), [{ tag: 0x41, value: bytes('AA') }, { tag: 0x42, value: bytes('BB') }, { tag: 0x43, value: bytes('CC') }], 'longer forms than needed are read');
  for (const bad of ['41', '4102AA', '4183000001', '418201']) t.equal(parseTlvs(bytes(bad)), null, `${bad} is malformed`);
});

t.test('JRCP v1 framing (reference/se050.md §2)', async (t) => {
  t.equal(hx(encodeJrcp(0x00, bytes('00000100'))), '0000000400000100', 'WAIT_FOR_CARD as simw sends it');
  t.equal(hx(encodeJrcp(0x03)), '03000000', 'CLOSE');
  t.equal(hx(encodeJrcp(0x01, bytes('8004002000'))), '01000005' + '8004002000', 'APDU');
  const d = new JrcpDecoder();
  const stream = bytes('01000005 8004002000 0300 0000 0400');
  const got = [...d.push(stream.subarray(0, 3)), ...d.push(stream.subarray(3, 11)), ...d.push(stream.subarray(11))];
  t.same(got.map((m) => [m.mty, hx(m.payload)]), [[1, '8004002000'], [3, '']], 'messages reassembled across arbitrary cuts');
  t.equal(d.pending, 2, 'a partial header is held');
  t.throws(() => encodeJrcp(1, new Uint8Array(65536)), RangeError);
});
