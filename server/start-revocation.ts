/**
 * The revocation half of the composition root (called by main.ts): the revocation service, one
 * CRL publisher and one OCSP responder per issuing CA (issue 19: a CA rotated out keeps serving
 * both for what it issued), the watcher that notices revocations made by other processes, and
 * the public plain-HTTP listener serving every CRL (each CA's at its CRL URL, the root's at the
 * CDP its issuing CA certificates name) and OCSP at one URL. Every server process competes for
 * the CRL lease (services/crl-publisher.ts): one signs, all serve.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { hostname } from 'node:os';
import type { Logger } from '../common/log.js';
import { fromPem } from '../common/pem.js';
import type { Config } from './config.js';
import { publicPkiHandler, type ServedCrl } from './api/public-pki.js';
import { toCert } from './ca/chain.js';
import { crlIssuerOf } from './ca/crl.js';
import { caKeyId } from './ca/key-id.js';
import { OcspResponder } from './ca/ocsp-responder.js';
import { responderIdentity } from './ca/ocsp-response.js';
import { OcspRouter } from './ca/ocsp-router.js';
import type { KeyStore, Signer } from './hsm/key-store.js';
import { CrlPublisher } from './services/crl-publisher.js';
import { CrlPublisherSet } from './services/crl-publishers.js';
import { createRevocation, type Revocation } from './services/revocation.js';
import { RevocationWatcher } from './services/revocation-watcher.js';
import type { Store } from './store/store.js';

/** One issuing CA as the revocation parts need it. */
export interface RevocationCa {
  signer: Signer;
  der: Uint8Array;
  crlUrl: string;
  /** Its delegated responder (key in the token, certificate issued by this CA); absent = the CA answers itself. */
  ocspResponderKey?: string | undefined;
  ocspResponderCert?: string | undefined;
}

/** What startRevocation needs from the composition root. */
export interface RevocationStackDeps {
  config: Config;
  keyStore: KeyStore;
  store: Store;
  /** The issuing CAs to serve; absent = the one CA of issuingSigner / issuingDer and config.ca. */
  cas?: RevocationCa[];
  issuingSigner?: Signer;
  issuingDer?: Uint8Array;
  /** The root's CRL, served at `rootCrlPaths` (the CDP of the issuing CA certificates). */
  rootCrl?: () => ServedCrl | null;
  rootCrlPaths?: () => string[];
  log: Logger;
}

/** The running revocation parts. */
export interface RevocationStack {
  revocation: Revocation;
  /** The first CA's CRL publisher. */
  crl: CrlPublisher;
  /** OCSP for every CA (one responder each). */
  ocsp: OcspRouter;
  /** http://host:port of the public listener. */
  publicUrl: string;
  /** Serves another issuing CA from now on (loaded on activation). */
  addCa(ca: RevocationCa): Promise<void>;
  close(): Promise<void>;
}

/** Builds the revocation parts, issues or loads the CRLs and starts the public listener. */
export async function startRevocation(d: RevocationStackDeps): Promise<RevocationStack> {
  const { config, store } = d;
  const log = d.log.child({ area: 'revocation' });
  const cas = d.cas ?? [{ signer: d.issuingSigner!, der: d.issuingDer!, crlUrl: config.ca.crlUrl, ocspResponderKey: config.ca.ocspResponderKey, ocspResponderCert: config.ca.ocspResponderCert }];
  // A holder name unique per process: a restarted replica is a new holder and waits for its old lease.
  const lease = { holder: `${hostname()}:${process.pid}:${randomBytes(4).toString('hex')}`, ttlMs: config.ca.crlLeaseSeconds * 1000 };
  // eslint-disable-next-line prefer-const -- assigned below: onRevoked needs the watcher, which needs the responders
  let watcher: RevocationWatcher;
  const revocation = createRevocation({
    store, log,
    // In this process the effect is immediate; other processes see it at their next poll.
    onRevoked: async () => watcher.check(),
  });
  const publishers = new CrlPublisherSet();
  const crlByPath = new Map<string, CrlPublisher>();
  const ocsp = new OcspRouter((err) => log.error({ err }, 'ocsp response failed'));
  const serve = async (ca: RevocationCa): Promise<CrlPublisher> => {
    const issuing = toCert(ca.der);
    const keyId = caKeyId(issuing);
    const crl = new CrlPublisher({ store, issuer: crlIssuerOf(ca.der, ca.signer), validityMs: config.ca.crlValidityHours * 3_600_000, lease, log });
    // Without a delegated responder configured, the CA answers itself (RFC 6960 §4.2.2.2 allows both).
    const ocspSigner = ca.ocspResponderKey ? await d.keyStore.getSigner(ca.ocspResponderKey) : ca.signer;
    const ocspCertDer = ca.ocspResponderCert ? fromPem(readFileSync(ca.ocspResponderCert, 'utf8')) : ca.der;
    ocsp.add(new OcspResponder({
      identity: responderIdentity(ocspSigner, ocspCertDer, await ocspSigner.publicKeySpki()),
      issuerNameDer: new Uint8Array(issuing.subjectName.toArrayBuffer()),
      issuerSpki: new Uint8Array(issuing.publicKey.rawData),
      lookup: (serial) => revocation.certificateStatus(serial, d.cas ? keyId : undefined),
      validityMs: config.ca.ocspValidityMinutes * 60_000,
      cacheMaxEntries: config.ca.ocspCacheMaxEntries, cacheMaxBytes: config.ca.ocspCacheMaxBytes,
      signsPerSecond: config.ca.ocspSignsPerSecond, signBurst: config.ca.ocspSignBurst,
      onError: (err) => log.error({ err, keyId }, 'ocsp response failed'),
    }));
    publishers.add(crl);
    crlByPath.set(new URL(ca.crlUrl).pathname, crl);
    return crl;
  };
  let first: CrlPublisher | undefined;
  for (const ca of cas) first ??= await serve(ca);
  watcher = new RevocationWatcher({ store, crl: publishers, invalidate: (s) => ocsp.invalidate(s), log });
  await watcher.start();

  const firstPath = new URL(cas[0]!.crlUrl).pathname;
  const otherCrls = (path: string): ServedCrl | null | undefined => {
    const p = crlByPath.get(path);
    if (p) return p.current();
    if (d.rootCrl && d.rootCrlPaths?.().includes(path)) return d.rootCrl();
    return undefined;
  };
  // Relying parties send a few hundred bytes and wait for a signed answer: a client that takes
  // 10 s to send its headers is holding a connection, not asking (slowloris). Node enforces
  // these timeouts every connectionsCheckingInterval (30 s by default, too coarse for 10 s).
  const server = createServer({ keepAliveTimeout: 65_000, headersTimeout: 10_000, requestTimeout: 30_000, connectionsCheckingInterval: 1000 }, publicPkiHandler({
    crlPath: firstPath, ocspPath: new URL(config.ca.ocspUrl).pathname,
    crl: () => first!.current(), otherCrls, ocsp, log,
  }));
  server.maxConnections = config.server.maxConnections;
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(config.server.publicPort, config.server.host, () => resolve());
    });
  } catch (err) {
    await watcher.stop();
    await publishers.close();
    throw err;
  }
  const publicUrl = `http://${config.server.host}:${(server.address() as AddressInfo).port}`;
  log.info({ publicUrl }, 'public listener (CRL, OCSP)');
  return {
    revocation, crl: first!, ocsp, publicUrl,
    async addCa(ca) {
      await serve(ca);
      await watcher.check();
    },
    async close() {
      await watcher.stop();
      // A clean stop hands the CRL lease over at once instead of after its expiry.
      await publishers.close().catch((err) => log.warn({ err }, 'crl lease release failed'));
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
    },
  };
}
