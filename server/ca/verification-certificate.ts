/**
 * Proof of possession of the issuing CA key for a cloud registry: a short-lived certificate
 * whose CN is the registry's challenge code (AWS IoT's registration code, Azure DPS's
 * verification code), signed by the CA key inside the HSM. Its own key pair is throw-away.
 */
import * as x509 from '../../common/x509.js';
import { toPem } from '../../common/pem.js';
import { ValidationError } from '../../common/errors.js';
import { generateSoftwareKey } from './software-key.js';
import type { Signer } from '../hsm/key-store.js';
import { toCert } from './chain.js';
import { keyIdentifier, randomSerialHex } from './profiles.js';
import { signerCrypto } from './signer-crypto.js';

/**
 * The shape of a proof-of-possession code an operator types in (Azure DPS): DPS hands out hex
 * strings (48 digits today), and it becomes a CN, which X.520 bounds at 64 characters. No exact
 * length is required: DPS changing it must not lock Keyline out.
 */
export const VERIFICATION_CODE = /^[0-9A-Fa-f]{1,64}$/;

/** A certificate with CN = `code`, issued by the CA through its HSM signer (AWS's proof of possession). */
export async function verificationCertificate(ctx: { issuingSigner: Signer; issuingCaDer: Uint8Array }, code: string, now = new Date()): Promise<string> {
  // A cloud's own code (AWS's registration code) is taken as it comes, within the CN's bounds.
  if (code.length < 1 || code.length > 64) throw new ValidationError('VALIDATION_FAILED', `a verification code becomes a CN: 1-64 characters, got ${code.length}`);
  const ca = toCert(ctx.issuingCaDer);
  const { crypto, keys, signingAlgorithm } = signerCrypto(ctx.issuingSigner);
  const spki = generateSoftwareKey().spki;
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: randomSerialHex(),
    subject: [{ CN: [code] }],
    issuer: new x509.Name(ca.subjectName.toArrayBuffer()),
    notBefore: new Date(now.getTime() - 60_000),
    notAfter: new Date(now.getTime() + 7 * 86_400_000),
    publicKey: new x509.PublicKey(spki.slice().buffer),
    signingKey: keys.privateKey,
    signingAlgorithm,
    extensions: [
      new x509.SubjectKeyIdentifierExtension(keyIdentifier(spki)),
      new x509.AuthorityKeyIdentifierExtension(ca.getExtension(x509.SubjectKeyIdentifierExtension)?.keyId ?? keyIdentifier(new Uint8Array(ca.publicKey.rawData))),
    ],
  }, crypto);
  return toPem(new Uint8Array(cert.rawData));
}
