/**
 * The few DER facts about EC keys PKCS#11 needs: curve OIDs as CKA_EC_PARAMS, SPKI built from
 * CKA_EC_POINT (RFC 5480 §2), and the hash that pairs with each curve.
 */
import { HsmError } from '../../common/errors.js';
import type { KeyCurve } from './key-store.js';

/** Per-curve constants: CKA_EC_PARAMS (namedCurve OID, DER), SPKI prefix up to the point, sizes. */
export const CURVES: Record<KeyCurve, { params: Buffer; spkiPrefix: Buffer; pointLen: number; sigLen: number; hash: 'sha256' | 'sha384' }> = {
  // RFC 5480 §2.1.1.1: secp256r1 1.2.840.10045.3.1.7; SPKI = SEQ{SEQ{id-ecPublicKey, curve}, BIT STRING 00||04||X||Y}
  'P-256': {
    params: Buffer.from('06082a8648ce3d030107', 'hex'),
    spkiPrefix: Buffer.from('3059301306072a8648ce3d020106082a8648ce3d030107034200', 'hex'),
    pointLen: 65,
    sigLen: 64,
    hash: 'sha256',
  },
  // secp384r1 1.3.132.0.34
  'P-384': {
    params: Buffer.from('06052b81040022', 'hex'),
    spkiPrefix: Buffer.from('3076301006072a8648ce3d020106052b81040022036200', 'hex'),
    pointLen: 97,
    sigLen: 96,
    hash: 'sha384',
  },
};

/** The curve named by a CKA_EC_PARAMS value, or undefined for curves Keyline does not use. */
export function curveFromParams(params: Buffer): KeyCurve | undefined {
  return (Object.keys(CURVES) as KeyCurve[]).find((c) => CURVES[c].params.equals(params));
}

/**
 * SPKI DER from CKA_EC_POINT. PKCS#11 v2.40 §2.3.3 says the point is DER-wrapped in an OCTET
 * STRING; some modules return it bare, so both are accepted.
 */
export function spkiFromEcPoint(curve: KeyCurve, ecPoint: Buffer): Uint8Array {
  const c = CURVES[curve];
  let point = ecPoint;
  if (point.length === c.pointLen + 2 && point[0] === 0x04 && point[1] === c.pointLen) point = point.subarray(2);
  if (point.length !== c.pointLen || point[0] !== 0x04) {
    throw new HsmError('HSM_ERROR', `CKA_EC_POINT: expected an uncompressed ${curve} point of ${c.pointLen} bytes, got ${ecPoint.length} bytes`);
  }
  return new Uint8Array(Buffer.concat([c.spkiPrefix, point]));
}

/** The curve of an EC SPKI (by its prefix), or undefined. */
export function curveOfSpki(spki: Uint8Array): KeyCurve | undefined {
  const b = Buffer.from(spki);
  return (Object.keys(CURVES) as KeyCurve[]).find((c) => b.length === CURVES[c].spkiPrefix.length + CURVES[c].pointLen && b.subarray(0, CURVES[c].spkiPrefix.length).equals(CURVES[c].spkiPrefix));
}
