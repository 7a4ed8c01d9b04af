/**
 * The dev ceremony's two certificate authorities: a self-signed root whose key stays in its own
 * token, and an issuing CA whose key is made on the line token and whose CSR the root signs, as
 * the production ceremony's `csr` and `sign-csr` halves do across the air gap.
 */
import { writeFileSync } from 'node:fs';
import { KeylineError } from '../../common/errors.js';
import type * as x509 from '../../common/x509.js';
import type { KeyCurve, KeyStore, Signer } from '../hsm/key-store.js';
import { ecdsaSignatureValid, verifyChain } from '../ca/chain.js';
import { createIssuingCa, createIssuingCaCsr, createRootCa } from '../ca/profiles.js';
import { certFacts, sha256Hex } from './ceremony-event.js';
import { pemOf, type DevCeremony } from './dev-ceremony.js';
import { signRootCrl } from './root-crl.js';
import { LINE_TOKEN, ROOT_TOKEN } from './dev-tokens.js';

/** A CA's key and certificate as the later steps need them. */
export interface DevCa {
  keyRef: string;
  signer: Signer;
  cert: x509.X509Certificate;
}

/** Generates the root key in the root token and self-signs the root certificate. */
export async function createDevRoot(c: DevCeremony, rootStore: KeyStore, curve: KeyCurve): Promise<DevCa> {
  const keyRef = await rootStore.generateKeyPair({ label: 'root-ca', curve });
  const signer = await rootStore.getSigner(keyRef);
  c.say(`root key generated in token '${ROOT_TOKEN}' (${signer.curve})`);
  await c.record('ceremony.root.keygen', keyRef, { curve: signer.curve, spkiSha256: sha256Hex(await signer.publicKeySpki()) });
  const cert = await createRootCa({ signer, org: c.org, now: c.now });
  c.say(`root CA certificate '${cert.subject}' serial ${cert.serialNumber}`);
  await c.record('ceremony.root.certify', cert.serialNumber, certFacts(cert));
  return { keyRef, signer, cert };
}

/**
 * Generates the issuing key in the line token, has the root sign its CSR (checking the CSR's
 * own signature first: proof the line token holds the key) and verifies the chain.
 */
export async function createDevIssuing(c: DevCeremony, lineStore: KeyStore, root: DevCa): Promise<DevCa> {
  await lineStore.generateKeyPair({ label: 'issuing-ca', curve: 'P-256' });
  const keyRef = `pkcs11:token=${LINE_TOKEN};object=issuing-ca`;
  const signer = await lineStore.getSigner(keyRef);
  c.say(`issuing CA key generated in token '${LINE_TOKEN}'`);
  await c.record('ceremony.issuing.keygen', keyRef, { curve: 'P-256', spkiSha256: sha256Hex(await signer.publicKeySpki()) });
  const csr = await createIssuingCaCsr({ signer, org: c.org });
  await c.record('ceremony.issuing.csr', csr.subject, { csrSha256: sha256Hex(new Uint8Array(csr.rawData)) });
  const csrSpki = new Uint8Array(csr.publicKey.rawData);
  if (!ecdsaSignatureValid(csr, csrSpki)) throw new KeylineError('CSR_SIGNATURE_INVALID', `issuing CA CSR '${csr.subject}': signature does not verify`);
  const cert = await createIssuingCa({ root: { signer: root.signer, cert: root.cert }, subjectSpki: csrSpki, org: c.org, now: c.now, crlUrl: DEV_ROOT_CRL_URL });
  verifyChain(cert, [], root.cert, c.now);
  c.say(`issuing CA certificate '${cert.subject}' serial ${cert.serialNumber}, signed by the root`);
  await c.record('ceremony.issuing.sign', cert.serialNumber, certFacts(cert));
  return { keyRef, signer, cert };
}

/** Where the dev server publishes the root's CRL (the CDP of the dev issuing CA). */
export const DEV_ROOT_CRL_URL = 'http://127.0.0.1:8080/crl/root.crl';

/** Signs the root's first CRL (empty, a year) into root-ca.crl, which the dev server imports at start (ca.rootCrl). */
export async function installRootCrl(c: DevCeremony, root: DevCa): Promise<void> {
  const { der, facts } = await signRootCrl({ signer: root.signer, root: root.cert, number: 1, revoked: [], now: c.now, validityDays: 365 });
  writeFileSync(c.path('root-ca.crl'), der);
  c.say(`root CRL root-ca.crl (number 1, next update ${facts.nextUpdate})`);
  await c.record('ceremony.root.crl', '1', { nextUpdate: facts.nextUpdate, sha256: facts.sha256 });
}

/** Installs the public chain for the server: root-ca.pem and issuing-ca.pem. */
export async function installChain(c: DevCeremony, root: DevCa, issuing: DevCa): Promise<void> {
  writeFileSync(c.path('root-ca.pem'), pemOf(root.cert));
  writeFileSync(c.path('issuing-ca.pem'), pemOf(issuing.cert));
  c.say(`chain installed: root-ca.pem, issuing-ca.pem`);
  await c.record('ceremony.chain.install', issuing.cert.serialNumber, { rootCert: c.path('root-ca.pem'), issuingCert: c.path('issuing-ca.pem') });
}
