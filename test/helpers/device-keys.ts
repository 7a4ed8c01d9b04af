/**
 * Device-side key material for tests: P-256 key pairs as the chip would report them (raw X‖Y),
 * plus random chip serials in the ATECC608 shape (01 23 .. .. .. .. .. .. EE).
 */
import { generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';

/** A P-256 key pair with its public key as 64-byte X‖Y hex and SPKI base64. */
export function deviceKey(curve: 'prime256v1' | 'secp384r1' | 'secp256k1' = 'prime256v1'): { rawHex: string; spkiB64: string; privateKey: KeyObject; publicKey: KeyObject } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: curve });
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const point = spki.subarray(spki.length - (curve === 'secp384r1' ? 96 : 64));
  return { rawHex: point.toString('hex'), spkiB64: spki.toString('base64'), privateKey, publicKey };
}

/** A realistic 9-byte chip serial as 18 uppercase hex digits. */
export function chipSerialHex(): string {
  return ('0123' + randomBytes(6).toString('hex') + 'EE').toUpperCase();
}
