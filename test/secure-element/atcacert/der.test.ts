import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import t from 'tap';
import { decodeEcdsaSigBitString, encodeEcdsaSigBitString, oid, readTlv } from '../../../secure-element/atcacert/der.js';

t.test('ECDSA-Sig-Value round trip matches node DER encoding', async (t) => {
  const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  for (let i = 0; i < 300; i++) {
    const msg = randomBytes(20);
    const der = sign('sha256', msg, privateKey); // node emits DER ECDSA-Sig-Value
    const rawSig = new Uint8Array(sign('sha256', msg, { key: privateKey, dsaEncoding: 'ieee-p1363' }));
    const bits = encodeEcdsaSigBitString(rawSig);
    t.ok(verify('sha256', msg, publicKey, bits.subarray(3)), 'the SEQUENCE inside verifies as DER');
    t.strictSame(decodeEcdsaSigBitString(bits, 0), rawSig);
    t.ok(der.length > 0);
  }
});

t.test('integers: leading zeros trimmed, 0x00 added before a high bit', async (t) => {
  const rawSig = new Uint8Array(64);
  rawSig.fill(0x80, 0, 32); // r needs 33 bytes
  rawSig[34] = 0x01; // s starts with two zero bytes
  const bits = encodeEcdsaSigBitString(rawSig);
  t.equal(Buffer.from(bits.subarray(0, 8)).toString('hex'), '03' + (bits.length - 2).toString(16) + '0030' + (bits.length - 5).toString(16) + '022100');
  t.strictSame(decodeEcdsaSigBitString(bits, 0), rawSig);
});

t.test('strict decoding', async (t) => {
  const nonMinimal = Uint8Array.from([0x03, 0x0a, 0x00, 0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01]);
  t.throws(() => decodeEcdsaSigBitString(nonMinimal, 0), { code: 'ATCACERT_INVALID' });
  const negative = Uint8Array.from([0x03, 0x09, 0x00, 0x30, 0x06, 0x02, 0x01, 0x80, 0x02, 0x01, 0x01]);
  t.throws(() => decodeEcdsaSigBitString(negative, 0), { code: 'ATCACERT_INVALID' });
  t.throws(() => readTlv(Uint8Array.from([0x30, 0x80, 0x00, 0x00]), 0), { code: 'ATCACERT_INVALID' });
  t.throws(() => readTlv(Uint8Array.from([0x30, 0x05, 0x00]), 0), { code: 'ATCACERT_INVALID' });
  t.equal(Buffer.from(oid('1.2.840.10045.4.3.2').bytes).toString('hex'), '06082a8648ce3d040302');
});
