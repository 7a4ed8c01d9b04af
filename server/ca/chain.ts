/**
 * Chain verification for the CA's own certificates (root -> issuing -> station/server/device):
 * name chaining, signature, validity and CA constraints (RFC 5280 §6.1, reduced to a fixed,
 * short path). Used by the server at start-up and by the guards; failures are CHAIN_INVALID.
 */
import { createPublicKey, verify } from 'node:crypto';
import { KeylineError } from '../../common/errors.js';
import * as x509 from '../../common/x509.js';

/** A certificate as DER or parsed. */
export type CertInput = Uint8Array | x509.X509Certificate;

/** Parses DER (or passes a parsed certificate through). */
export function toCert(c: CertInput): x509.X509Certificate {
  if (c instanceof x509.X509Certificate) return c;
  try {
    return new x509.X509Certificate(c.slice().buffer as ArrayBuffer);
  } catch (err) {
    throw new KeylineError('MALFORMED_DER', `certificate: not a DER X.509 certificate (${c.length} bytes)`, { cause: err });
  }
}

/** True when `cert`'s signature verifies with `issuer`'s public key (ECDSA, DER signature value). */
export function signedBy(cert: x509.X509Certificate, issuer: x509.X509Certificate): boolean {
  return ecdsaSignatureValid(cert, new Uint8Array(issuer.publicKey.rawData));
}

/**
 * Checks the signature of a certificate or PKCS#10 request with the given SPKI. x509 keeps the
 * signed bytes in a private `tbs` getter and the signature as the BIT STRING contents (DER
 * ECDSA-Sig-Value, RFC 5480 §2.2 / RFC 5758 §3.2).
 */
export function ecdsaSignatureValid(signed: x509.X509Certificate | x509.Pkcs10CertificateRequest, spki: Uint8Array): boolean {
  const alg = signed.signatureAlgorithm as { name?: string; hash?: { name: string } };
  if (alg.name !== 'ECDSA' || !alg.hash) return false;
  const tbs = Buffer.from((signed as unknown as { tbs: ArrayBuffer }).tbs);
  try {
    const key = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
    return verify(alg.hash.name.replace('-', '').toLowerCase(), tbs, { key, dsaEncoding: 'der' }, Buffer.from(signed.signature));
  } catch {
    return false;
  }
}

/** True when the certificate names itself as issuer and its signature verifies with its own key. */
export function isSelfSigned(c: CertInput): boolean {
  const cert = toCert(c);
  return sameName(cert.subjectName, cert.issuerName) && signedBy(cert, cert);
}

function sameName(a: x509.Name, b: x509.Name): boolean {
  return Buffer.from(a.toArrayBuffer()).equals(Buffer.from(b.toArrayBuffer()));
}

function fail(what: string, cert: x509.X509Certificate, why: string): never {
  throw new KeylineError('CHAIN_INVALID', `${what} (subject '${cert.subject}', serial ${cert.serialNumber}): ${why}`, { detail: { subject: cert.subject, serial: cert.serialNumber } });
}

function checkTime(what: string, cert: x509.X509Certificate, now: Date): void {
  if (now < cert.notBefore) fail(what, cert, `not valid before ${cert.notBefore.toISOString()}`);
  if (now > cert.notAfter) fail(what, cert, `expired at ${cert.notAfter.toISOString()}`);
}

function checkIsCa(what: string, cert: x509.X509Certificate): void {
  const bc = cert.getExtension(x509.BasicConstraintsExtension);
  if (!bc?.ca) fail(what, cert, 'basicConstraints CA:TRUE is missing (RFC 5280 §4.2.1.9)');
  const ku = cert.getExtension(x509.KeyUsagesExtension);
  if (ku && !(ku.usages & x509.KeyUsageFlags.keyCertSign)) fail(what, cert, 'keyUsage lacks keyCertSign (RFC 5280 §4.2.1.3)');
}

/**
 * Verifies `cert` through `intermediates` (nearest first) up to `root`, which must be self-signed.
 * Throws CHAIN_INVALID naming the certificate and the reason.
 */
export function verifyChain(cert: CertInput, intermediates: CertInput[], root: CertInput, now: Date = new Date()): void {
  const rootCert = toCert(root);
  if (!isSelfSigned(rootCert)) fail('root', rootCert, 'is not self-signed');
  checkIsCa('root', rootCert);
  checkTime('root', rootCert, now);
  const path = [toCert(cert), ...intermediates.map(toCert)];
  for (let i = 0; i < path.length; i++) {
    const c = path[i]!;
    const issuer = path[i + 1] ?? rootCert;
    const what = i === 0 ? 'certificate' : `intermediate ${i}`;
    checkTime(what, c, now);
    if (!sameName(c.issuerName, issuer.subjectName)) fail(what, c, `issuer '${c.issuer}' is not '${issuer.subject}'`);
    if (!signedBy(c, issuer)) fail(what, c, `signature does not verify with the key of '${issuer.subject}'`);
    if (i > 0) {
      checkIsCa(what, c);
      // RFC 5280 §4.2.1.9: pathLenConstraint counts the CA certificates below this one.
      const bc = c.getExtension(x509.BasicConstraintsExtension);
      if (bc?.pathLength !== undefined && bc.pathLength < i - 1) fail(what, c, `pathLenConstraint ${bc.pathLength} exceeded`);
    }
  }
}

/** Verifies the issuing CA certificate against the configured root. */
export function verifyIssuingCa(issuing: CertInput, root: CertInput, now: Date = new Date()): void {
  const c = toCert(issuing);
  checkIsCa('issuing CA', c);
  verifyChain(c, [], root, now);
}
