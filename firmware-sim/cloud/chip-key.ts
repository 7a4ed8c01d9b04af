/**
 * The device key as the cloud protocols need it: ECDSA signatures made in the chip (the
 * Fleet Provisioning CSR), and the TLS client identity the endpoints authenticate the device by.
 *
 * Why the TLS handshake is the one signature not made through the chip: Node's TLS stack has no
 * signing callback (only OpenSSL engines, which are native), so it cannot hand a CertificateVerify
 * to a secure element as mbedTLS's or wolfSSL's PK callbacks (cryptoauthlib's atca_mbedtls_pk)
 * do on the real device. The emulated chip keeps its private scalar in its own state (it is a
 * model; device-chip.ts emulatedDeviceKey), and this is the only place the simulated firmware
 * reads it, for the TLS stack alone.
 * Every signature the protocols themselves carry goes through the chip's Sign command.
 */
import { createPrivateKey, type KeyObject } from 'node:crypto';
import { toPem } from '../../common/pem.js';
import type { PoweredDevice } from '../boot.js';
import { emulatedDeviceKey } from '../device-chip.js';

/** What the cloud clients need of the device's key. */
export interface ChipKey {
  /** The key's public half, raw X‖Y (64 bytes). */
  publicKey: Uint8Array;
  /** Signs a SHA-256 digest in the chip; raw r‖s. */
  signDigest(digest: Uint8Array): Promise<Uint8Array>;
}

/** The device key of a powered device (ATECC608 slot 0, SE050 object 20000001). */
export function chipKeyOf(d: PoweredDevice): ChipKey {
  return { publicKey: d.identity.publicKey, signDigest: (digest) => d.dev.signDigest(digest) };
}

/** A TLS client identity: the certificate chain (leaf first, PEM) and the key for Node's TLS stack. */
export interface TlsIdentity {
  certPem: string;
  key: KeyObject;
}

/**
 * The TLS identity of a powered device: `leafDer` (the line certificate, or the certificate the
 * device later received for the same key) with the signer certificate from the chip, and the
 * emulated chip's slot 0 key (see the file comment for why).
 */
export function tlsIdentityOf(d: PoweredDevice, leafDer: Uint8Array = d.identity.deviceDer): TlsIdentity {
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64url');
  const pub = d.identity.publicKey;
  const key = createPrivateKey({ key: { kty: 'EC', crv: 'P-256', d: b64(emulatedDeviceKey(d.chip)), x: b64(pub.subarray(0, 32)), y: b64(pub.subarray(32, 64)) }, format: 'jwk' });
  return { certPem: toPem(leafDer) + toPem(d.identity.signerDer), key };
}
