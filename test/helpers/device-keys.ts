/**
 * Device-side key material for tests: P-256 key pairs as the chip would report them (raw X‖Y),
 * plus random chip serials in the ATECC608 shape (01 23 .. .. .. .. .. .. EE).
 */
import { createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, type KeyObject } from 'node:crypto';

/**
 * A fresh EC key pair whose keys are safe to export as JWK. On Node 20 exporting a
 * generateKeyPairSync key as JWK can deadlock the thread for good (the export holds the key's
 * mutex while it allocates; a GC then finalises the spent key-generation job, whose destructor
 * takes the same mutex: crash.test.ts's child hung so once in a few hundred runs). Keys read back
 * from their DER do not share that job.
 */
export function ecKeyPair(namedCurve: string = 'P-256'): { publicKey: KeyObject; privateKey: KeyObject } {
  const kp = generateKeyPairSync('ec', { namedCurve });
  return {
    publicKey: createPublicKey({ key: kp.publicKey.export({ format: 'der', type: 'spki' }), format: 'der', type: 'spki' }),
    privateKey: createPrivateKey({ key: kp.privateKey.export({ format: 'der', type: 'pkcs8' }), format: 'der', type: 'pkcs8' }),
  };
}

/** A P-256 key pair with its public key as 64-byte X‖Y hex and SPKI base64. */
export function deviceKey(curve: 'prime256v1' | 'secp384r1' | 'secp256k1' = 'prime256v1'): { rawHex: string; spkiB64: string; privateKey: KeyObject; publicKey: KeyObject } {
  const { publicKey, privateKey } = ecKeyPair(curve);
  const spki = publicKey.export({ format: 'der', type: 'spki' });
  const point = spki.subarray(spki.length - (curve === 'secp384r1' ? 96 : 64));
  return { rawHex: point.toString('hex'), spkiB64: spki.toString('base64'), privateKey, publicKey };
}

/** A realistic 9-byte chip serial as 18 uppercase hex digits. */
export function chipSerialHex(): string {
  return ('0123' + randomBytes(6).toString('hex') + 'EE').toUpperCase();
}
