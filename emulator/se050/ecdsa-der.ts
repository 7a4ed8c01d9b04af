/**
 * ECDSA for the SE050 model: the applet signs a digest it is given and answers DER
 * (ECDSA-Sig-Value, RFC 3279 §2.2.3), unlike the ATECC608's raw r‖s. The P-256 arithmetic is the
 * emulator's one implementation (atecc608/ecc.ts); this file only converts between the forms.
 */
import { derSignatureToRaw } from '../../common/se05x/ecdsa-signature.js';
import { ecdsaSigValue } from '../../common/der/writer.js';
import { signDigest, verifyDigest, type EccKey } from '../atecc608/ecc.js';

/** The leftmost 256 bits of a digest as ECDSA uses them (FIPS 186-4 §6.4: a longer hash is truncated). */
function e256(digest: Uint8Array): Uint8Array {
  return digest.length > 32 ? digest.subarray(0, 32) : digest;
}

/** DER signature of `digest` by `key`. */
export function signDigestDer(key: EccKey, digest: Uint8Array): Uint8Array {
  return new Uint8Array(ecdsaSigValue(signDigest(key, e256(digest))));
}

/** True when DER `sig` over `digest` verifies with the uncompressed point `pub` (04‖X‖Y). */
export function verifyDigestDer(pub: Uint8Array, digest: Uint8Array, sig: Uint8Array): boolean | null {
  const raw = derSignatureToRaw(sig);
  if (!raw) return null;
  return verifyDigest(pub.subarray(1), e256(digest), raw);
}
