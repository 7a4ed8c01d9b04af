/**
 * The CA-lifecycle part of the composition root (issue 19, called by main.ts): every issuing CA
 * keyline.json lists, loaded with its device issuer and chain; the root CRL of ca.rootCrl
 * imported when newer than the stored one; the choice of the issuing CA read from the store and
 * polled (ca-watcher.ts), so `keyline ca activate` and `keyline ca import-crl` reach every worker
 * and replica without a restart; a CA activated after start loaded from keyline.json on demand.
 */
import { existsSync, readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { hasCode } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import type { Config } from './config.js';
import { toCert } from './ca/chain.js';
import { crlDistributionUrls } from './ca/distribution-points.js';
import type { OpenedCa, OpenedIssuingCa } from './open-ca.js';
import { CaWatcher } from './services/ca-watcher.js';
import { IssuingCas, loadedCaOf, type LoadedCa } from './services/issuing-cas.js';
import { importRootCrl } from './services/root-crl-import.js';
import type { RevocationCa } from './start-revocation.js';
import type { Store } from './store/store.js';

/** What startCaLifecycle needs. */
export interface CaLifecycleDeps {
  config: Config;
  ca: OpenedCa;
  store: Store;
  log: Logger;
  /** Told about a CA loaded after start (its CRL and OCSP must be served from then on). */
  onLoaded?: (ca: RevocationCa) => void;
}

/** The running CA lifecycle parts. */
export interface CaLifecycle {
  issuingCas: IssuingCas;
  /** Every loaded CA as the revocation stack serves it. */
  revocationCas(): RevocationCa[];
  /** URL paths of the root CRL: the CDPs the loaded issuing CA certificates name. */
  rootCrlPaths(): string[];
  close(): Promise<void>;
}

/** Loads the CAs, imports ca.rootCrl, reads the activation state and starts polling it. */
export async function startCaLifecycle(d: CaLifecycleDeps): Promise<CaLifecycle> {
  const { config, ca, store } = d;
  const log = d.log.child({ area: 'ca' });
  const root = toCert(ca.rootDer);
  const opened = new Map<string, OpenedIssuingCa>(ca.cas.map((c) => [c.keyId, c]));
  const loaded = (o: OpenedIssuingCa): LoadedCa => loadedCaOf({ ...o, crlUrl: o.config.crlUrl }, { rootDer: ca.rootDer, ocspUrl: config.ca.ocspUrl, validityYears: config.ca.deviceValidityYears });
  const revocationCa = (keyId: string): RevocationCa => {
    const o = opened.get(keyId)!;
    return { signer: o.signer, der: o.der, crlUrl: o.config.crlUrl, ocspResponderKey: o.config.ocspResponderKey, ocspResponderCert: o.config.ocspResponderCert };
  };
  if (config.ca.rootCrl && existsSync(config.ca.rootCrl)) await importAtStart(store, config.ca.rootCrl, root, log);
  const issuingCas = new IssuingCas({
    root, cas: ca.cas.map(loaded), store, log,
    thresholdsDays: config.ca.lifetimeWarningDays, rootCrlWarningDays: config.ca.rootCrlWarningDays,
    load: async (keyId) => {
      const o = await ca.loadListed(keyId);
      if (!o) return null;
      opened.set(o.keyId, o);
      return loaded(o);
    },
    onLoaded: (c) => d.onLoaded?.(revocationCa(c.keyId)),
  });
  const watcher = new CaWatcher({ cas: issuingCas, log });
  await watcher.start();
  return {
    issuingCas,
    revocationCas: () => issuingCas.all().map((c) => revocationCa(c.keyId)),
    rootCrlPaths: () => [...new Set(issuingCas.all().flatMap((c) => crlDistributionUrls(c.cert).map((u) => new URL(u).pathname)))],
    close: () => watcher.stop(),
  };
}

/** Imports the ceremony's root CRL file when it is newer than the stored one (replicas starting together: one wins, the rest see CRL_NOT_NEWER). */
async function importAtStart(store: Store, file: string, root: ReturnType<typeof toCert>, log: Logger): Promise<void> {
  try {
    const crl = await importRootCrl(store, readFileSync(file), root, `server:${userInfo().username}`);
    log.info({ crlNumber: crl.number, file }, 'root CRL imported from ca.rootCrl');
  } catch (err) {
    if (!hasCode(err, 'CRL_NOT_NEWER')) throw err;
  }
}
