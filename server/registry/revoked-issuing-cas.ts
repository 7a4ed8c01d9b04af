/**
 * The listed issuing CAs the root has revoked, for `keyline registry setup`: a revoked (perhaps
 * compromised) CA must never be registered for automatic registration, because the clouds check no
 * Keyline CRL (AWS JITP would create a thing for any certificate its key signs; DPS checks no CRL
 * either). Read from the newest root CRL in the store (`keyline ca import-crl`) and from
 * ca.rootCrl (the file the server imports at start), each checked against the root first; an
 * entry in either counts, as a CA once revoked stays revoked.
 */
import { existsSync, readFileSync } from 'node:fs';
import type { Config } from '../config.js';
import type * as x509 from '../../common/x509.js';
import { checkRootCrl } from '../services/root-crl-import.js';
import type { Store } from '../store/store.js';

/** Key id → revocation reason, for each of `cas` on a root CRL. */
export async function revokedIssuingCas(config: Pick<Config, 'ca'>, store: Store, root: x509.X509Certificate,
  cas: readonly { keyId: string; cert: x509.X509Certificate }[]): Promise<Map<string, string>> {
  const crls: Uint8Array[] = [];
  const stored = await store.transaction((tx) => tx.ca.latestRootCrl(), { readOnly: true });
  if (stored) crls.push(stored.der);
  if (config.ca.rootCrl && existsSync(config.ca.rootCrl)) crls.push(readFileSync(config.ca.rootCrl));
  const reasons = new Map<string, string>();
  for (const der of crls) for (const e of checkRootCrl(der, root).entries()) reasons.set(e.serialHex, e.reason);
  const out = new Map<string, string>();
  for (const c of cas) {
    const reason = reasons.get(c.cert.serialNumber.toLowerCase().replace(/^0+(?=.)/, ''));
    if (reason !== undefined) out.set(c.keyId, reason);
  }
  return out;
}
