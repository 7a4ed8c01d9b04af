/**
 * The CA as every process that signs opens it (the server, `keyline revoke`, `keyline registry
 * setup`, `keyline ca activate`): the chain from the configured files, the line token through the
 * KeyStore seam, and the start-up guards (ca/startup-checks.ts) for every issuing CA keyline.json
 * lists (issue 19: several side by side) before any key is used. One place, so a CLI can never
 * sign with a key or chain the server would have refused, and a CA loaded later (on activation)
 * passes the same guards.
 */
import { readFileSync } from 'node:fs';
import { KeylineError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { fromPemAll, toPem } from '../common/pem.js';
import type * as x509 from '../common/x509.js';
import { issuingCasOf, loadConfigWithoutSecrets, type Config, type IssuingCaConfig, type Secrets } from './config.js';
import { toCert } from './ca/chain.js';
import { caKeyId } from './ca/key-id.js';
import { checkCaAtStartup } from './ca/startup-checks.js';
import type { KeyStore, Signer } from './hsm/key-store.js';
import { openKeyStore } from './hsm/open-key-store.js';

/** One issuing CA, its key checked against its certificate and the root. */
export interface OpenedIssuingCa {
  keyId: string;
  signer: Signer;
  cert: x509.X509Certificate;
  der: Uint8Array;
  pem: string;
  /** Its keyline.json entry (paths absolute, CRL URL resolved). */
  config: IssuingCaConfig;
}

/** The opened CA: close() releases the token. */
export interface OpenedCa {
  keyStore: KeyStore;
  /** Every issuing CA keyline.json lists, in its order. */
  cas: OpenedIssuingCa[];
  /** The first listed issuing CA's key, certificate and chain (the CA of a single-CA config). */
  signer: Signer;
  issuing: x509.X509Certificate;
  rootDer: Uint8Array;
  issuingDer: Uint8Array;
  rootPem: string;
  issuingPem: string;
  /** Re-reads keyline.json and opens the CA it lists with this key id, guards included (null when it lists none). */
  loadListed(keyId: string): Promise<OpenedIssuingCa | null>;
  close(): Promise<void>;
}

/** Opens the line token named by `config.hsm` and runs the guards; `sessions` defaults to config.hsm.sessions. */
export async function openCa(config: Config, secrets: Secrets, opts: { sessions?: number; log?: Logger } = {}): Promise<OpenedCa> {
  const rootPem = readFileSync(config.ca.rootCert, 'utf8');
  const [rootDer] = fromPemAll(rootPem);
  if (!rootDer) throw new KeylineError('CONFIG_INVALID', `${config.ca.rootCert} holds no certificate`);
  const entries = issuingCasOf(config);
  const keyStore = openKeyStore(config.hsm, secrets.hsmPin, { sessions: opts.sessions ?? config.hsm.sessions, log: opts.log });
  const open = async (e: IssuingCaConfig): Promise<OpenedIssuingCa> => {
    const [der] = fromPemAll(readIssuingPem(e.cert));
    if (!der) throw new KeylineError('CONFIG_INVALID', `${e.cert} holds no certificate`);
    const { signer, issuing } = await checkCaAtStartup({ keyStore, rootDer, issuingDer: der, issuingKeyRef: e.key });
    return { keyId: caKeyId(issuing), signer, cert: issuing, der, pem: toPem(der), config: e };
  };
  try {
    const cas: OpenedIssuingCa[] = [];
    for (const e of entries) {
      const ca = await open(e);
      if (cas.some((c) => c.keyId === ca.keyId)) throw new KeylineError('CONFIG_INVALID', `ca.issuing: ${e.cert} names the key of an issuing CA listed before it (key id ${ca.keyId})`);
      cas.push(ca);
    }
    const first = cas[0]!;
    return {
      keyStore, cas, signer: first.signer, issuing: first.cert, rootDer, issuingDer: first.der, rootPem, issuingPem: first.pem,
      async loadListed(keyId) {
        // The file as it is now: a CA added to keyline.json after start is found without a restart.
        const now = issuingCasOf(loadConfigWithoutSecrets(config.file));
        for (const e of now) {
          const [der] = fromPemAll(readIssuingPem(e.cert));
          if (der && caKeyId(toCert(der)) === keyId) return open(e);
        }
        return null;
      },
      close: () => keyStore.close(),
    };
  } catch (err) {
    await keyStore.close();
    throw err;
  }
}

function readIssuingPem(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new KeylineError('CONFIG_INVALID', `issuing CA certificate ${path}: cannot read it`, { cause: err });
  }
}
