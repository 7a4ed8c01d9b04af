/**
 * Importing a root CRL (an ARL from the offline ceremony) into the store every process reads:
 * `keyline ca import-crl`, and ca.rootCrl at server start-up. Only a CRL the root signed, naming
 * the root as issuer and its key as AKI, with a number above every stored one, goes in, with an
 * audit record in the same transaction. Processes pick it up within a second (ca-watcher.ts).
 */
import { KeylineError } from '../../common/errors.js';
import type * as x509 from '../../common/x509.js';
import { parseCrl, type CrlInfo } from '../ca/crl-info.js';
import { caKeyId } from '../ca/key-id.js';
import type { Store } from '../store/store.js';

/** Checks a root CRL against the root certificate; CRL_INVALID naming what is wrong. */
export function checkRootCrl(der: Uint8Array, root: x509.X509Certificate): CrlInfo {
  const crl = parseCrl(der);
  const rootName = Buffer.from(root.subjectName.toArrayBuffer());
  if (!Buffer.from(crl.issuerNameDer).equals(rootName)) throw new KeylineError('CRL_INVALID', `crl: issuer is not the root '${root.subject}'`);
  if (crl.authorityKeyIdHex !== caKeyId(root)) throw new KeylineError('CRL_INVALID', `crl: authority key identifier ${crl.authorityKeyIdHex ?? '(none)'} is not the root's ${caKeyId(root)}`);
  if (!crl.signedBy(new Uint8Array(root.publicKey.rawData))) throw new KeylineError('CRL_INVALID', `crl: signature does not verify with the root key of '${root.subject}'`);
  if (crl.number === null) throw new KeylineError('CRL_INVALID', 'crl: no CRL Number (RFC 5280 §5.2.3 requires one)');
  if (!crl.nextUpdate) throw new KeylineError('CRL_INVALID', 'crl: no nextUpdate');
  return crl;
}

/** Stores a root CRL after checkRootCrl; CRL_NOT_NEWER when one with this number or a greater one is stored. */
export async function importRootCrl(store: Store, der: Uint8Array, root: x509.X509Certificate, actor: string): Promise<CrlInfo> {
  const crl = checkRootCrl(der, root);
  await store.transaction(async (tx) => {
    await tx.ca.saveRootCrl({ number: crl.number!, thisUpdate: crl.thisUpdate.toISOString(), nextUpdate: crl.nextUpdate!.toISOString(), der });
    await tx.audit.append({
      action: 'ca.root-crl.import', actor, subject: String(crl.number),
      detail: { thisUpdate: crl.thisUpdate.toISOString(), nextUpdate: crl.nextUpdate!.toISOString(), revoked: crl.entries().map((e) => ({ serial: e.serialHex, reason: e.reason })) },
    });
  });
  return crl;
}
