/**
 * The revocation half of the composition root (called by main.ts): the revocation service, the
 * CRL publisher, the OCSP responder with its cache, the watcher that notices revocations made by
 * other processes, and the public plain-HTTP listener serving the CRL and OCSP. Every server
 * process competes for the CRL lease (services/crl-publisher.ts): one signs, all serve.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Logger } from '../common/log.js';
import { fromPem } from '../common/pem.js';
import type { Config } from './config.js';
import { publicPkiHandler } from './api/public-pki.js';
import { toCert } from './ca/chain.js';
import { crlIssuerOf } from './ca/crl.js';
import { OcspResponder } from './ca/ocsp-responder.js';
import { responderIdentity } from './ca/ocsp-response.js';
import type { KeyStore, Signer } from './hsm/key-store.js';
import { CrlPublisher } from './services/crl-publisher.js';
import { createRevocation, type Revocation } from './services/revocation.js';
import { RevocationWatcher } from './services/revocation-watcher.js';
import type { Store } from './store/store.js';

/** What startRevocation needs from the composition root. */
export interface RevocationStackDeps {
  config: Config;
  keyStore: KeyStore;
  store: Store;
  issuingSigner: Signer;
  issuingDer: Uint8Array;
  log: Logger;
}

/** The running revocation parts. */
export interface RevocationStack {
  revocation: Revocation;
  crl: CrlPublisher;
  ocsp: OcspResponder;
  /** http://host:port of the public listener. */
  publicUrl: string;
  close(): Promise<void>;
}

/** Builds the revocation parts, issues or loads the CRL and starts the public listener. */
export async function startRevocation(d: RevocationStackDeps): Promise<RevocationStack> {
  const { config, store } = d;
  const log = d.log.child({ area: 'revocation' });
  const issuing = toCert(d.issuingDer);
  // Without a delegated responder configured, the issuing CA answers itself (RFC 6960 §4.2.2.2 allows both).
  const ocspSigner = config.ca.ocspResponderKey ? await d.keyStore.getSigner(config.ca.ocspResponderKey) : d.issuingSigner;
  const ocspCertDer = config.ca.ocspResponderCert ? fromPem(readFileSync(config.ca.ocspResponderCert, 'utf8')) : d.issuingDer;

  // A holder name unique per process: a restarted replica is a new holder and waits for its old lease.
  const lease = { holder: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`, ttlMs: config.ca.crlLeaseSeconds * 1000 };
  const crl = new CrlPublisher({ store, issuer: crlIssuerOf(d.issuingDer, d.issuingSigner), validityMs: config.ca.crlValidityHours * 3_600_000, lease, log });
  // eslint-disable-next-line prefer-const -- assigned below: onRevoked needs the watcher, which needs the responder
  let watcher: RevocationWatcher;
  const revocation = createRevocation({
    store, log,
    // In this process the effect is immediate; other processes see it at their next poll.
    onRevoked: async () => watcher.check(),
  });
  const ocsp = new OcspResponder({
    identity: responderIdentity(ocspSigner, ocspCertDer, await ocspSigner.publicKeySpki()),
    issuerNameDer: new Uint8Array(issuing.subjectName.toArrayBuffer()),
    issuerSpki: new Uint8Array(issuing.publicKey.rawData),
    lookup: (serial) => revocation.certificateStatus(serial),
    validityMs: config.ca.ocspValidityMinutes * 60_000,
    cacheMaxEntries: config.ca.ocspCacheMaxEntries, cacheMaxBytes: config.ca.ocspCacheMaxBytes,
    signsPerSecond: config.ca.ocspSignsPerSecond, signBurst: config.ca.ocspSignBurst,
    onError: (err) => log.error({ err }, 'ocsp response failed'),
  });
  watcher = new RevocationWatcher({ store, crl, invalidate: (s) => ocsp.invalidate(s), log });
  await watcher.start();

  // Relying parties send a few hundred bytes and wait for a signed answer: a client that takes
  // 10 s to send its headers is holding a connection, not asking (slowloris). Node enforces
  // these timeouts every connectionsCheckingInterval (30 s by default, too coarse for 10 s).
  const server = createServer({ keepAliveTimeout: 65_000, headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1000 }, publicPkiHandler({
    crlPath: new URL(config.ca.crlUrl).pathname, ocspPath: new URL(config.ca.ocspUrl).pathname,
    crl: () => crl.current(), ocsp, log,
  }));
  server.maxConnections = config.server.maxConnections;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.server.publicPort, config.server.host, () => resolve());
    });
  } catch (err) {
    await watcher.stop();
    await crl.close();
    throw err;
  }
  const publicUrl = `http://${config.server.host}:${(server.address() as AddressInfo).port}`;
  log.info({ publicUrl }, 'public listener (CRL, OCSP)');
  return {
    revocation, crl, ocsp, publicUrl,
    async close() {
      await watcher.stop();
      // A clean stop hands the CRL lease over at once instead of after its expiry.
      await crl.close().catch((err) => log.warn({ err }, 'crl lease release failed'));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
