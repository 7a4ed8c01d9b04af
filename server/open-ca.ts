/**
 * The CA as every process that signs opens it (the server, `keyline revoke`, `keyline registry
 * setup`): the chain from the configured files, the line token through the KeyStore seam, and
 * the start-up guards (ca/startup-checks.ts) before any key is used. One place, so a CLI can
 * never sign with a key or chain the server would have refused.
 */
import { readFileSync } from 'node:fs';
import { KeylineError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { fromPemAll } from '../common/pem.js';
import type * as x509 from '../common/x509.js';
import type { Config, Secrets } from './config.js';
import { checkCaAtStartup } from './ca/startup-checks.js';
import type { KeyStore, Signer } from './hsm/key-store.js';
import { openKeyStore } from './hsm/open-key-store.js';

/** The opened CA: close() releases the token. */
export interface OpenedCa {
  keyStore: KeyStore;
  /** The issuing CA key, checked against its certificate. */
  signer: Signer;
  issuing: x509.X509Certificate;
  rootDer: Uint8Array;
  issuingDer: Uint8Array;
  rootPem: string;
  issuingPem: string;
  close(): Promise<void>;
}

/** Opens the line token named by `config.hsm` and runs the guards; `sessions` defaults to config.hsm.sessions. */
export async function openCa(config: Config, secrets: Secrets, opts: { sessions?: number; log?: Logger } = {}): Promise<OpenedCa> {
  const rootPem = readFileSync(config.ca.rootCert, 'utf8');
  const issuingPem = readFileSync(config.ca.issuingCert, 'utf8');
  const [rootDer] = fromPemAll(rootPem);
  const [issuingDer] = fromPemAll(issuingPem);
  if (!rootDer || !issuingDer) throw new KeylineError('CONFIG_INVALID', `${config.ca.rootCert} or ${config.ca.issuingCert} holds no certificate`);
  const keyStore = openKeyStore(config.hsm, secrets.hsmPin, { sessions: opts.sessions ?? config.hsm.sessions, log: opts.log });
  try {
    const { signer, issuing } = await checkCaAtStartup({ keyStore, rootDer, issuingDer, issuingKeyRef: config.hsm.issuingKey });
    return { keyStore, signer, issuing, rootDer, issuingDer, rootPem, issuingPem, close: () => keyStore.close() };
  } catch (err) {
    await keyStore.close();
    throw err;
  }
}
