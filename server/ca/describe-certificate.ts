/**
 * A certificate decoded for a person (the console's unit page, issue 18): the main fields and
 * @peculiar/x509's full text dump (extensions included), so nothing here parses DER by hand.
 */
import { X509Certificate } from '@peculiar/x509';

/** The fields a supervisor or officer looks at first, and the whole decoded text. */
export interface CertificateDescription {
  subject: string;
  issuer: string;
  /** Lowercase hex. */
  serialNumber: string;
  notBefore: string;
  notAfter: string;
  signatureAlgorithm: string;
  /** Every field and extension, as text. */
  text: string;
}

/** Decodes a DER certificate. */
export function describeCertificate(der: Uint8Array): CertificateDescription {
  const c = new X509Certificate(der.slice().buffer as ArrayBuffer);
  const alg = c.signatureAlgorithm as { name?: string; hash?: { name?: string } };
  return {
    subject: c.subject,
    issuer: c.issuer,
    serialNumber: c.serialNumber.toLowerCase(),
    notBefore: c.notBefore.toISOString(),
    notAfter: c.notAfter.toISOString(),
    signatureAlgorithm: [alg.name, alg.hash?.name].filter(Boolean).join(' with ') || 'unknown',
    text: c.toString('text'),
  };
}
