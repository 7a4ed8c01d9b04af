/**
 * A certificate's signatureValue for ecdsa-with-SHA256 (RFC 5280 §4.1.1.3): a BIT STRING holding
 * ECDSA-Sig-Value { r, s } (RFC 5480 §2.2.3, RFC 3279 §2.2.3), to and from the raw r‖s that the
 * chip signs with and that bytes 0-63 of a compressed certificate store. Built and read with the
 * one DER toolkit (common/der/); refusals are ATCACERT_INVALID, atcacert's code for unusable bytes.
 */
import { KeylineError } from '../../common/errors.js';
import { childrenOf, readTlv, unsignedIntegerBytes } from '../../common/der/reader.js';
import { bitString, ecdsaSigValue } from '../../common/der/writer.js';

/** The signatureValue BIT STRING (tag included) holding ECDSA-Sig-Value { r, s } from raw P-256 r‖s. */
export function encodeEcdsaSigBitString(rawSig: Uint8Array): Uint8Array {
  if (rawSig.length !== 64) throw new KeylineError('ATCACERT_INVALID', `signature must be 64 bytes r‖s, got ${rawSig.length}`);
  return bitString(ecdsaSigValue(rawSig));
}

/** Raw r‖s from a signatureValue BIT STRING (tag included) at `offset`; strict DER, r and s at most 32 bytes. */
export function decodeEcdsaSigBitString(buf: Uint8Array, offset: number): Uint8Array {
  const fail = (why: string, cause?: unknown): never => {
    throw new KeylineError('ATCACERT_INVALID', `signatureValue at offset ${offset}: ${why}`, cause === undefined ? {} : { cause });
  };
  try {
    const bits = readTlv(buf, offset);
    if (bits.tag !== 0x03 || bits.end === bits.value || buf[bits.value] !== 0) fail('not a BIT STRING with 0 unused bits');
    const seq = readTlv(buf, bits.value + 1, bits.end);
    if (seq.tag !== 0x30 || seq.end !== bits.end) fail('not one ECDSA-Sig-Value SEQUENCE');
    const ints = childrenOf(buf, seq);
    if (ints.length !== 2) fail(`expected 2 INTEGERs, found ${ints.length}`);
    const out = new Uint8Array(64);
    ints.forEach((t, i) => {
      // Minimal and non-negative (X.690 §8.3.2), as the reader checks for every INTEGER.
      const v = unsignedIntegerBytes(buf, t);
      if (v.length > 32) fail(`${i ? 's' : 'r'} longer than 32 bytes`);
      out.set(v, i * 32 + 32 - v.length);
    });
    return out;
  } catch (err) {
    if (err instanceof KeylineError && err.code === 'MALFORMED_DER') fail(err.message, err);
    throw err;
  }
}
