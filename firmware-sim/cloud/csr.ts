/**
 * A PKCS#10 certification request (RFC 2986 §4) for a key that never leaves the chip: the
 * CertificationRequestInfo is built here and its SHA-256 digest signed by the chip, as a device
 * builds its CSR for AWS IoT's CreateCertificateFromCsr.
 */
import { createHash } from 'node:crypto';
import { bitString, ecdsaAlgorithm, ecdsaSigValue, oid, seq, tlv } from '../../common/der/writer.js';
import { toPem } from '../../common/pem.js';
import type { ChipKey } from './chip-key.js';

const EC_PUBLIC_KEY = '1.2.840.10045.2.1';
const PRIME256V1 = '1.2.840.10045.3.1.7';
const COMMON_NAME = '2.5.4.3';

/** SubjectPublicKeyInfo of a raw P-256 point X‖Y (RFC 5480 §2). */
export function p256Spki(xy: Uint8Array): Buffer {
  return seq(seq(oid(EC_PUBLIC_KEY), oid(PRIME256V1)), bitString(Buffer.concat([Buffer.of(0x04), xy])));
}

/** A PEM CSR with subject CN=`commonName` for the chip key, signed in the chip (ecdsa-with-SHA256). */
export async function chipCsr(key: ChipKey, commonName: string): Promise<string> {
  // Name: one RDN (SET) holding CN as a UTF8String (RFC 5280 §4.1.2.4).
  const name = seq(tlv(0x31, seq(oid(COMMON_NAME), tlv(0x0c, Buffer.from(commonName, 'utf8')))));
  // version 0, subject, key, attributes [0] empty (no extension request: the CA's profile decides).
  const info = seq(Buffer.of(0x02, 0x01, 0x00), name, p256Spki(key.publicKey), Buffer.of(0xa0, 0x00));
  const signature = await key.signDigest(createHash('sha256').update(info).digest());
  return toPem(seq(info, ecdsaAlgorithm('P-256'), bitString(ecdsaSigValue(signature))), 'CERTIFICATE REQUEST');
}
