/**
 * The device's check of the configuration the enrollment service sends: the config-signer
 * certificate must chain to the pinned root through the signer certificate rebuilt from the
 * chip, and its key must verify the signature over the canonical configuration bytes. A
 * configuration that fails is never stored.
 */
import { verify, X509Certificate } from 'node:crypto';
import { KeylineError } from '../common/errors.js';
import { canonicalConfigBytes, type EnrolledMessage } from '../common/protocol/enrollment.js';

const refuse = (msg: string): never => {
  throw new KeylineError('CONFIG_SIGNATURE_INVALID', msg);
};

/**
 * Verifies `msg.configSignature` (DER ECDSA-Sig-Value, RFC 3279 §2.2.3, SHA-256) over
 * canonicalConfigBytes(msg.config) with the config-signer certificate, and that certificate
 * against the chain: issued and signed by the issuing CA (or the root itself), within its
 * validity, and not itself a CA.
 */
export function verifyConfiguration(msg: Pick<EnrolledMessage, 'config' | 'configSignature' | 'configSignerCertificate'>, chain: { signer: X509Certificate; root: X509Certificate }, now = Date.now()): X509Certificate {
  const { key: chainKey, cert } = configSigner(msg.configSignerCertificate, chain);
  const { from, to } = validityOf(cert);
  if (from > now + 3_600_000 || to < now) refuse(`config signer certificate is valid ${cert.validFrom} to ${cert.validTo}`);
  const bytes = canonicalConfigBytes(msg.config);
  const signedKey = `${chainKey}|${msg.configSignature}|${Buffer.from(bytes).toString('base64')}`;
  if (signed.has(signedKey)) return cert;
  let ok = false;
  try {
    ok = verify('sha256', bytes, { key: cert.publicKey, dsaEncoding: 'der' }, Buffer.from(msg.configSignature, 'base64'));
  } catch (err) {
    throw new KeylineError('CONFIG_SIGNATURE_INVALID', 'configSignature is not a DER ECDSA signature', { cause: err });
  }
  if (!ok) refuse(`configuration signature does not verify with config signer ${cert.subject}`);
  if (signed.size >= 64) signed.clear();
  signed.add(signedKey);
  return cert;
}

// Config-signer certificates already chained, keyed by their DER and the chain's fingerprints,
// and signatures already verified, keyed by that and the exact signature and document bytes.
// Both checks are pure functions of those bytes, so the simulated devices of one process share
// their results (a fleet of thousands all receive the same signer and their group's one
// signature: bench:enroll's fleet spent ~0.2 ms of the server's machine per enrollment on the
// same verification); each device still checks the certificate's validity period every time,
// and any other signature or document is verified in full.
const chained = new Map<string, X509Certificate>();
const signed = new Set<string>();
const fingerprints = new WeakMap<X509Certificate, string>();
// Each X509Certificate getter is a call into OpenSSL: the validity period is read once per certificate.
const validity = new WeakMap<X509Certificate, { from: number; to: number }>();
const validityOf = (c: X509Certificate) => {
  let v = validity.get(c);
  if (!v) validity.set(c, (v = { from: Date.parse(c.validFrom), to: Date.parse(c.validTo) }));
  return v;
};
const fingerprintOf = (c: X509Certificate) => {
  let f = fingerprints.get(c);
  if (f === undefined) fingerprints.set(c, (f = c.fingerprint256));
  return f;
};

/** The config-signer certificate, checked to be an end entity issued by the chip's signer or the root; with its cache key. */
function configSigner(derBase64: string, chain: { signer: X509Certificate; root: X509Certificate }): { key: string; cert: X509Certificate } {
  const key = `${fingerprintOf(chain.signer)}|${fingerprintOf(chain.root)}|${derBase64}`;
  const hit = chained.get(key);
  if (hit) return { key, cert: hit };
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(Buffer.from(derBase64, 'base64'));
  } catch (err) {
    throw new KeylineError('CONFIG_SIGNATURE_INVALID', 'configSignerCertificate is not a DER certificate', { cause: err });
  }
  const issuer = [chain.signer, chain.root].find((ca) => cert.checkIssued(ca) && cert.verify(ca.publicKey));
  if (!issuer) refuse(`config signer ${cert.subject} is not issued by ${chain.signer.subject} or the pinned root`);
  // An end-entity key signs configurations; a CA key that did would be misused (RFC 5280 §4.2.1.9).
  if (cert.ca) refuse(`config signer ${cert.subject} is a CA certificate`);
  if (chained.size >= 64) chained.clear();
  chained.set(key, cert);
  return { key, cert };
}
