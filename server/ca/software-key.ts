/**
 * Software key pairs for keys that are not CA keys: TLS identities (station, server, people) sit
 * in PEM files next to the process that uses them, as mTLS needs, and a registry verification
 * certificate's key is thrown away. It lives in ca/, which needs it and which the ceremony
 * already builds on, so ca/ never imports the ceremony.
 */
import { generateKeyPairSync } from 'node:crypto';
import type { KeyCurve } from '../hsm/key-store.js';

/** A fresh EC key: SPKI DER for the certificate, PKCS#8 PEM for the key file. */
export function generateSoftwareKey(curve: KeyCurve = 'P-256'): { spki: Uint8Array; privateKeyPem: string } {
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: curve === 'P-256' ? 'prime256v1' : 'secp384r1' });
  return {
    spki: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' })),
    privateKeyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString(),
  };
}
