/**
 * The audit record of a verification certificate: a certificate the issuing CA key signed for a
 * cloud's proof of possession (AWS IoT's registration code, Azure DPS's verification code) is an
 * issuance like any other, so `keyline registry setup` records it before the certificate leaves
 * the process. The record names the certificate (serial, fingerprint, subject = the code, validity)
 * and the CA; the code is a public challenge, not a secret, and nothing else of the cloud is kept.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { KeylineError } from '../../common/errors.js';
import { fromPem } from '../../common/pem.js';
import type { Store } from '../store/store.js';

/** The audit action of a verification certificate's issuance. */
export const VERIFICATION_CERTIFICATE_ACTION = 'registry.verification-certificate';

/** Appends the record of `pem`, signed by issuing CA `keyId` for registry `registry`; STORE_ERROR if it cannot. */
export async function auditVerificationCertificate(store: Store, actor: string, registry: string, keyId: string, pem: string): Promise<void> {
  const cert = new X509Certificate(pem);
  const detail = {
    registry, keyId, certificateSerial: cert.serialNumber.toLowerCase(), subject: cert.subject,
    fingerprintSha256: createHash('sha256').update(fromPem(pem)).digest('hex'), notBefore: new Date(cert.validFrom).toISOString(), notAfter: new Date(cert.validTo).toISOString(),
  };
  try {
    await store.transaction((tx) => tx.audit.append({ action: VERIFICATION_CERTIFICATE_ACTION, actor, subject: keyId, detail }));
  } catch (err) {
    throw new KeylineError('STORE_ERROR', `${registry}: the verification certificate issuing CA ${keyId} signed could not be recorded in the audit log; it was not handed out`,
      { cause: err, detail: { registry, keyId } });
  }
}
