import { generateKeyPairSync, randomBytes, sign, verify } from 'node:crypto';
import t from 'tap';
/**
 * The signatureValue codec of atcacert (raw r‖s ↔ BIT STRING { ECDSA-Sig-Value }), over the one
 * DER toolkit: byte-equal to node's DER signatures, and strict on what it reads back.
 */
import { decodeEcdsaSigBitString, encodeEcdsaSigBitString } from '../../../secure-element/atcacert/signature-value.js';

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
  // Malformed DER inside the signatureValue is atcacert's ATCACERT_INVALID, not the reader's MALFORMED_DER.
  t.throws(() => decodeEcdsaSigBitString(Uint8Array.from([0x03, 0x80, 0x00, 0x00]), 0), { code: 'ATCACERT_INVALID' }, 'indefinite length');
  t.throws(() => decodeEcdsaSigBitString(Uint8Array.from([0x03, 0x05, 0x00]), 0), { code: 'ATCACERT_INVALID' }, 'past the end');
  const longForm = Uint8Array.from([0x03, 0x81, 0x09, 0x00, 0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]);
  t.throws(() => decodeEcdsaSigBitString(longForm, 0), { code: 'ATCACERT_INVALID' }, 'long-form length for 9');
  t.throws(() => encodeEcdsaSigBitString(new Uint8Array(63)), { code: 'ATCACERT_INVALID' }, 'not 64 bytes');
});
