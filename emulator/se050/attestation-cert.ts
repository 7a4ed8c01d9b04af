/**
 * The certificate NXP's factory puts beside each part's attestation key (object F0000013, DER,
 * reference/se050.md §6), made here by the per-installation manufacturer root
 * (common/se05x/manufacturer-root.ts): subject CN names the chip's unique id, key usage
 * digitalSignature, not a CA. A verifier chains it to the root it trusts.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { fromPem } from '../../common/pem.js';
import type { ManufacturerRoot } from '../../common/se05x/manufacturer-root.js';
import * as x509 from '../../common/x509.js';

const crypto = webcrypto as unknown as Crypto;
const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** Issues the attestation certificate of a chip whose attestation key is `publicPoint` (04‖X‖Y). */
export async function issueAttestationCertificate(root: ManufacturerRoot, publicPoint: Uint8Array, uid: Uint8Array, now = new Date()): Promise<Uint8Array> {
  const rootCert = new x509.X509Certificate(Buffer.from(root.certDer));
  const signingKey = await crypto.subtle.importKey('pkcs8', Buffer.from(fromPem(root.keyPem, 'PRIVATE KEY')), { name: 'ECDSA', namedCurve: 'P-256' }, false, ['sign']);
  const publicKey = await crypto.subtle.importKey('raw', Buffer.from(publicPoint), { name: 'ECDSA', namedCurve: 'P-256' }, true, ['verify']);
  const serial = randomBytes(16);
  serial[0] = (serial[0]! & 0x7f) | 0x40;
  const notAfter = new Date(rootCert.notAfter);
  const cert = await x509.X509CertificateGenerator.create(
    {
      serialNumber: serial.toString('hex'),
      subject: `CN=SE050 attestation ${Buffer.from(uid).toString('hex').toUpperCase()}, O=${rootCert.subjectName.getField('O')[0] ?? 'Keyline Dev'}`,
      issuer: rootCert.subject,
      notBefore: now,
      notAfter,
      publicKey,
      signingKey,
      signingAlgorithm: ALG,
      extensions: [
        new x509.BasicConstraintsExtension(false, undefined, true),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        await x509.AuthorityKeyIdentifierExtension.create(rootCert, false, crypto),
      ],
    },
    crypto,
  );
  return new Uint8Array(cert.rawData);
}
