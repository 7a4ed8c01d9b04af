/**
 * `keyline ceremony init --dev`: the whole development PKI in one step. The root key is generated
 * in its own token (standing for the offline, controlled environment) and is never named in the
 * server config; the issuing key is generated on the line token, its CSR is signed by the root,
 * and only public certificates are installed for the server. Every step emits an audit event.
 */
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { KeylineError } from '../../common/errors.js';
import { toPem } from '../../common/pem.js';
import type * as x509 from '../../common/x509.js';
import { configSchema } from '../config.js';
import type { KeyCurve } from '../hsm/key-store.js';
import type { Role } from '../../common/roles.js';
import { openPkcs11Module } from '../hsm/pkcs11-module.js';
import type { KeyStore } from '../hsm/key-store.js';
import { openKeyStore } from '../hsm/open-key-store.js';
import { initSoftHsmToken, randomPin, writeSoftHsmConf } from '../hsm/softhsm.js';
import { ecdsaSignatureValid, verifyChain } from '../ca/chain.js';
import { createIssuingCa, createIssuingCaCsr, createOcspResponderCert, createRootCa, createServerTlsCert, createClientCert } from '../ca/profiles.js';
import { generateSoftwareKey } from './software-key.js';

/** One audit event of the ceremony (the shape of the store's AuditEntry). */
export interface CeremonyEvent {
  action: string;
  actor: string;
  subject?: string;
  detail?: Record<string, unknown>;
}

/** Options of initDevPki. */
export interface InitDevOptions {
  out: string;
  force?: boolean;
  org?: string;
  /** Root curve; P-384 works, but then the signer certificate cannot be stored compressed on the chip. */
  rootCurve?: KeyCurve;
  stationId?: string;
  /** Extra DNS names for the server certificate. */
  dnsNames?: string[];
  /** PKCS#11 module path (SoftHSM2 auto-detected when absent). */
  module?: string;
  now?: Date;
  /** Receives one event per step (the CLI writes them to the audit log). */
  record?: (e: CeremonyEvent) => Promise<void>;
  /** Receives one human-readable line per step. */
  progress?: (line: string) => void;
}

/** What the ceremony produced; every path is absolute. */
export interface DevPki {
  outDir: string;
  configPath: string;
  config: Record<string, unknown>;
  rootCertPath: string;
  issuingCertPath: string;
  stationCertPath: string;
  stationKeyPath: string;
  serverCertPath: string;
  serverKeyPath: string;
  softhsmConf: string;
  rootTokenLabel: string;
  lineTokenLabel: string;
  linePinPath: string;
  rootPinPath: string;
  issuingKeyRef: string;
  rootKeyRef: string;
  rootDer: Uint8Array;
  issuingDer: Uint8Array;
  /** The delegated OCSP responder: key in the line token, certificate issued by the issuing CA. */
  ocspResponderKeyRef: string;
  ocspResponderCertPath: string;
  /** A security-officer identity (revokes, quarantines confirmed units, releases). */
  officerCertPath: string;
  officerKeyPath: string;
  /** An operator identity (creates, changes and closes work orders; reads everything). */
  operatorCertPath: string;
  operatorKeyPath: string;
  /** An auditor identity (reads units, the audit log and the reconciliation). */
  auditorCertPath: string;
  auditorKeyPath: string;
}

/** The people's identities the dev ceremony issues beside the station's: file stem and role. */
const PEOPLE = [
  { id: 'officer-01', role: 'security-officer', event: 'officer' },
  { id: 'operator-01', role: 'operator', event: 'operator' },
  { id: 'auditor-01', role: 'auditor', event: 'auditor' },
] as const satisfies ReadonlyArray<{ id: string; role: Role; event: string }>;

/** Files and folders that make up a PKI in the out folder (removed by --force). */
export const PKI_ARTIFACTS = ['tokens', 'keyline.json', 'root-ca.pem', 'issuing-ca.pem', 'server.pem', 'server.key.pem', 'keyline.db', 'keyline.db-wal', 'keyline.db-shm', 'ocsp-responder.pem',
  'officer-01.pem', 'officer-01.key.pem', 'operator-01.pem', 'operator-01.key.pem', 'auditor-01.pem', 'auditor-01.key.pem'];

const ROOT_TOKEN = 'keyline-root';
const LINE_TOKEN = 'keyline-line';
const ACTOR = 'ceremony:dev';

/** Builds the development PKI into `opts.out`; refuses with PKI_EXISTS if one is there, unless `force`. */
export async function initDevPki(opts: InitDevOptions): Promise<DevPki> {
  const out = resolve(opts.out);
  const org = opts.org ?? 'Keyline Dev';
  const stationId = opts.stationId ?? 'station-01';
  const record = opts.record ?? (async () => {});
  const say = opts.progress ?? (() => {});
  const now = opts.now ?? new Date();
  const p = (f: string) => join(out, f);
  const artifacts = [...PKI_ARTIFACTS, `${stationId}.pem`, `${stationId}.key.pem`];

  const present = artifacts.filter((f) => existsSync(p(f)));
  if (present.length > 0 && !opts.force) {
    throw new KeylineError('PKI_EXISTS', `a PKI already exists in ${out} (${present.join(', ')}); pass --force to destroy it and build a new one`, { detail: { out, present } });
  }
  for (const f of present) rmSync(p(f), { recursive: true, force: true });
  if (present.length) say(`removed the previous PKI in ${out} (--force)`);
  mkdirSync(p('tokens'), { recursive: true, mode: 0o700 });

  // Tokens: PINs are random and live in 0600 files (dev only); they never reach argv or a log.
  const softhsmConf = writeSoftHsmConf(p('tokens'));
  const pins = { root: randomPin(), line: randomPin(), rootSo: randomPin(), lineSo: randomPin() };
  writeSecret(p('tokens/root.pin'), pins.root);
  writeSecret(p('tokens/line.pin'), pins.line);
  writeSecret(p('tokens/root.so.pin'), pins.rootSo);
  writeSecret(p('tokens/line.so.pin'), pins.lineSo);

  const module = openPkcs11Module({ path: opts.module, softhsmConf });
  let rootStore: KeyStore | undefined;
  let lineStore: KeyStore | undefined;
  try {
    for (const [label, so, user] of [[ROOT_TOKEN, pins.rootSo, pins.root], [LINE_TOKEN, pins.lineSo, pins.line]] as const) {
      initSoftHsmToken(module, { label, soPin: so, userPin: user });
      say(`token '${label}' initialised`);
      await record({ action: 'ceremony.token.init', actor: ACTOR, subject: label, detail: { softhsmConf } });
    }

    // Root: own token, self-signed.
    rootStore = openKeyStore({ module: opts.module, softhsmConf, tokenLabel: ROOT_TOKEN }, pins.root, { sessions: 1 });
    const rootKeyRef = await rootStore.generateKeyPair({ label: 'root-ca', curve: opts.rootCurve ?? 'P-256' });
    const rootSigner = await rootStore.getSigner(rootKeyRef);
    const rootSpki = await rootSigner.publicKeySpki();
    say(`root key generated in token '${ROOT_TOKEN}' (${rootSigner.curve})`);
    await record({ action: 'ceremony.root.keygen', actor: ACTOR, subject: rootKeyRef, detail: { curve: rootSigner.curve, spkiSha256: sha256(rootSpki) } });
    const root = await createRootCa({ signer: rootSigner, org, now });
    say(`root CA certificate '${root.subject}' serial ${root.serialNumber}`);
    await record({ action: 'ceremony.root.certify', actor: ACTOR, subject: root.serialNumber, detail: certFacts(root) });

    // Issuing CA: key on the line token, CSR out, root signs it in this (controlled) step.
    lineStore = openKeyStore({ module: opts.module, softhsmConf, tokenLabel: LINE_TOKEN }, pins.line, { sessions: 1 });
    await lineStore.generateKeyPair({ label: 'issuing-ca', curve: 'P-256' });
    const issuingKeyRef = `pkcs11:token=${LINE_TOKEN};object=issuing-ca`;
    const issuingSigner = await lineStore.getSigner(issuingKeyRef);
    say(`issuing CA key generated in token '${LINE_TOKEN}'`);
    await record({ action: 'ceremony.issuing.keygen', actor: ACTOR, subject: issuingKeyRef, detail: { curve: 'P-256', spkiSha256: sha256(await issuingSigner.publicKeySpki()) } });
    const csr = await createIssuingCaCsr({ signer: issuingSigner, org });
    await record({ action: 'ceremony.issuing.csr', actor: ACTOR, subject: csr.subject, detail: { csrSha256: sha256(new Uint8Array(csr.rawData)) } });
    const csrSpki = new Uint8Array(csr.publicKey.rawData);
    if (!ecdsaSignatureValid(csr, csrSpki)) throw new KeylineError('CSR_SIGNATURE_INVALID', `issuing CA CSR '${csr.subject}': signature does not verify`);
    const issuing = await createIssuingCa({ root: { signer: rootSigner, cert: root }, subjectSpki: csrSpki, org, now });
    verifyChain(issuing, [], root, now);
    say(`issuing CA certificate '${issuing.subject}' serial ${issuing.serialNumber}, signed by the root`);
    await record({ action: 'ceremony.issuing.sign', actor: ACTOR, subject: issuing.serialNumber, detail: certFacts(issuing) });
    // The root token goes back offline: nothing below may touch the root key.
    await rootStore.close();
    rootStore = undefined;

    writeFileSync(p('root-ca.pem'), pem(root));
    writeFileSync(p('issuing-ca.pem'), pem(issuing));
    say(`chain installed: root-ca.pem, issuing-ca.pem`);
    await record({ action: 'ceremony.chain.install', actor: ACTOR, subject: issuing.serialNumber, detail: { rootCert: p('root-ca.pem'), issuingCert: p('issuing-ca.pem') } });

    // TLS identities: software keys in PEM files, certificates from the issuing CA (PKCS#11).
    const issuer = { signer: issuingSigner, cert: issuing };
    const stationKey = generateSoftwareKey();
    const station = await createClientCert({ issuer, stationId, org, spki: stationKey.spki, now });
    writeFileSync(p(`${stationId}.pem`), pem(station) + pem(issuing));
    writeSecret(p(`${stationId}.key.pem`), stationKey.privateKeyPem);
    say(`station identity ${stationId}.pem (CN=${stationId})`);
    await record({ action: 'ceremony.station.issue', actor: ACTOR, subject: stationId, detail: certFacts(station) });
    const serverKey = generateSoftwareKey();
    const server = await createServerTlsCert({ issuer, org, spki: serverKey.spki, dnsNames: opts.dnsNames, now });
    writeFileSync(p('server.pem'), pem(server) + pem(issuing));
    writeSecret(p('server.key.pem'), serverKey.privateKeyPem);
    say('server TLS identity server.pem (localhost, 127.0.0.1)');
    await record({ action: 'ceremony.server.issue', actor: ACTOR, subject: server.subject, detail: certFacts(server) });

    // Delegated OCSP responder (RFC 6960 §4.2.2.2): its own key in the line token, so the issuing
    // CA key signs only certificates and CRLs while the responder signs at request rates.
    const ocspKeyRef = await lineStore.generateKeyPair({ label: 'ocsp-responder', curve: 'P-256' });
    const ocspSigner = await lineStore.getSigner(ocspKeyRef);
    const ocspSpki = await ocspSigner.publicKeySpki();
    await record({ action: 'ceremony.ocsp.keygen', actor: ACTOR, subject: ocspKeyRef, detail: { curve: 'P-256', spkiSha256: sha256(ocspSpki) } });
    const ocsp = await createOcspResponderCert({ issuer, org, spki: ocspSpki, now });
    writeFileSync(p('ocsp-responder.pem'), pem(ocsp));
    say(`OCSP responder certificate ocsp-responder.pem (key '${ocspKeyRef}')`);
    await record({ action: 'ceremony.ocsp.issue', actor: ACTOR, subject: ocsp.serialNumber, detail: certFacts(ocsp) });
    for (const person of PEOPLE) {
      const key = generateSoftwareKey();
      const cert = await createClientCert({ issuer, stationId: person.id, org, spki: key.spki, role: person.role, now });
      writeFileSync(p(`${person.id}.pem`), pem(cert) + pem(issuing));
      writeSecret(p(`${person.id}.key.pem`), key.privateKeyPem);
      say(`${person.role} identity ${person.id}.pem (CN=${person.id}, OU=${person.role})`);
      await record({ action: `ceremony.${person.event}.issue`, actor: ACTOR, subject: person.id, detail: certFacts(cert) });
    }

    const config = configSchema.parse({
      server: { port: 8443, publicPort: 8080, tlsCert: 'server.pem', tlsKey: 'server.key.pem' },
      hsm: { softhsmConf: 'tokens/softhsm2.conf', tokenLabel: LINE_TOKEN, pin: { file: 'tokens/line.pin' }, issuingKey: issuingKeyRef },
      ca: {
        rootCert: 'root-ca.pem', issuingCert: 'issuing-ca.pem', crlUrl: 'http://127.0.0.1:8080/crl/issuing.crl', ocspUrl: 'http://127.0.0.1:8080/ocsp',
        ocspResponderKey: ocspKeyRef, ocspResponderCert: 'ocsp-responder.pem',
      },
      store: { url: 'sqlite:keyline.db' },
      station: { id: stationId, serverUrl: 'https://127.0.0.1:8443', cert: `${stationId}.pem`, key: `${stationId}.key.pem` },
    });
    writeFileSync(p('keyline.json'), JSON.stringify(config, null, 2) + '\n');
    say(`config written: ${p('keyline.json')}`);
    await record({ action: 'ceremony.config.write', actor: ACTOR, subject: p('keyline.json') });

    return {
      outDir: out, configPath: p('keyline.json'), config,
      rootCertPath: p('root-ca.pem'), issuingCertPath: p('issuing-ca.pem'),
      stationCertPath: p(`${stationId}.pem`), stationKeyPath: p(`${stationId}.key.pem`),
      serverCertPath: p('server.pem'), serverKeyPath: p('server.key.pem'),
      softhsmConf, rootTokenLabel: ROOT_TOKEN, lineTokenLabel: LINE_TOKEN,
      linePinPath: p('tokens/line.pin'), rootPinPath: p('tokens/root.pin'),
      issuingKeyRef, rootKeyRef,
      rootDer: new Uint8Array(root.rawData), issuingDer: new Uint8Array(issuing.rawData),
      ocspResponderKeyRef: ocspKeyRef, ocspResponderCertPath: p('ocsp-responder.pem'),
      officerCertPath: p('officer-01.pem'), officerKeyPath: p('officer-01.key.pem'),
      operatorCertPath: p('operator-01.pem'), operatorKeyPath: p('operator-01.key.pem'),
      auditorCertPath: p('auditor-01.pem'), auditorKeyPath: p('auditor-01.key.pem'),
    };
  } finally {
    await rootStore?.close();
    await lineStore?.close();
    module.release();
  }
}

function writeSecret(path: string, text: string): void {
  writeFileSync(path, text.endsWith('\n') ? text : `${text}\n`, { mode: 0o600 });
}

function pem(c: x509.X509Certificate): string {
  return toPem(new Uint8Array(c.rawData));
}

function sha256(b: Uint8Array): string {
  return createHash('sha256').update(b).digest('hex');
}

function certFacts(c: x509.X509Certificate): Record<string, unknown> {
  return { subject: c.subject, issuer: c.issuer, serial: c.serialNumber, notBefore: c.notBefore.toISOString(), notAfter: c.notAfter.toISOString(), sha256: sha256(new Uint8Array(c.rawData)) };
}
