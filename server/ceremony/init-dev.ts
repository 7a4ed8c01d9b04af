/**
 * `keyline ceremony init --dev`: the whole development PKI in one step. The root key is generated
 * in its own token (standing for the offline, controlled environment) and is never named in the
 * server config; the issuing key is generated on the line token, its CSR is signed by the root,
 * and only public certificates are installed for the server. Every step emits an audit event.
 * The steps live in dev-*.ts, one file each; this file runs them in order.
 */
import { resolve } from 'node:path';
import type { KeyCurve, KeyStore } from '../hsm/key-store.js';
import { openPkcs11Module } from '../hsm/pkcs11-module.js';
import type { CeremonyEvent } from './ceremony-event.js';
import { createDevIssuing, createDevRoot, installChain, installRootCrl } from './dev-cas.js';
import { devCeremony, PKI_ARTIFACTS, prepareOutDir, type DevCeremony } from './dev-ceremony.js';
import { writeDevConfig } from './dev-config.js';
import { createDevSe050Root, SE050_ROOT_ARTIFACTS } from './dev-se050-root.js';
import { issueOcspResponder, issuePeopleIdentities, issueServerIdentity, issueStationIdentity } from './dev-identities.js';
import { initTokens, LINE_TOKEN, openToken, ROOT_TOKEN, writeTokenFiles } from './dev-tokens.js';

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

/** Builds the development PKI into `opts.out`; refuses with PKI_EXISTS if one is there, unless `force`. */
export async function initDevPki(opts: InitDevOptions): Promise<DevPki> {
  const c = devCeremony({ out: resolve(opts.out), org: opts.org ?? 'Keyline Dev', now: opts.now ?? new Date(), record: opts.record, progress: opts.progress });
  const stationId = opts.stationId ?? 'station-01';
  prepareOutDir(c, [...PKI_ARTIFACTS, ...SE050_ROOT_ARTIFACTS, `${stationId}.pem`, `${stationId}.key.pem`], opts.force ?? false);
  const tokens = writeTokenFiles(c, opts.module);
  const pkcs11 = openPkcs11Module({ path: opts.module, softhsmConf: tokens.softhsmConf });
  let rootStore: KeyStore | undefined;
  let lineStore: KeyStore | undefined;
  try {
    await initTokens(c, pkcs11, tokens);
    rootStore = openToken(tokens, 'root');
    const root = await createDevRoot(c, rootStore, opts.rootCurve ?? 'P-256');
    lineStore = openToken(tokens, 'line');
    const issuing = await createDevIssuing(c, lineStore, root);
    await installRootCrl(c, root);
    // The root token goes back offline: nothing below may touch the root key.
    await rootStore.close();
    rootStore = undefined;
    await installChain(c, root, issuing);
    await issueStationIdentity(c, issuing, stationId);
    await issueServerIdentity(c, issuing, opts.dnsNames);
    const ocspKeyRef = await issueOcspResponder(c, lineStore, issuing);
    await issuePeopleIdentities(c, issuing);
    await createDevSe050Root(c);
    const config = await writeDevConfig(c, { issuingKeyRef: issuing.keyRef, ocspKeyRef, stationId });
    return devPki(c, { config, stationId, softhsmConf: tokens.softhsmConf, rootKeyRef: root.keyRef, issuingKeyRef: issuing.keyRef, ocspKeyRef, rootDer: root.cert.rawData, issuingDer: issuing.cert.rawData });
  } finally {
    await rootStore?.close();
    await lineStore?.close();
    pkcs11.release();
  }
}

/** Where the ceremony put everything (the file names the steps wrote). */
function devPki(c: DevCeremony, r: { config: Record<string, unknown>; stationId: string; softhsmConf: string; rootKeyRef: string; issuingKeyRef: string; ocspKeyRef: string; rootDer: ArrayBuffer; issuingDer: ArrayBuffer }): DevPki {
  const p = c.path;
  return {
    outDir: c.out, configPath: p('keyline.json'), config: r.config,
    rootCertPath: p('root-ca.pem'), issuingCertPath: p('issuing-ca.pem'),
    stationCertPath: p(`${r.stationId}.pem`), stationKeyPath: p(`${r.stationId}.key.pem`),
    serverCertPath: p('server.pem'), serverKeyPath: p('server.key.pem'),
    softhsmConf: r.softhsmConf, rootTokenLabel: ROOT_TOKEN, lineTokenLabel: LINE_TOKEN,
    linePinPath: p('tokens/line.pin'), rootPinPath: p('tokens/root.pin'),
    issuingKeyRef: r.issuingKeyRef, rootKeyRef: r.rootKeyRef,
    rootDer: new Uint8Array(r.rootDer), issuingDer: new Uint8Array(r.issuingDer),
    ocspResponderKeyRef: r.ocspKeyRef, ocspResponderCertPath: p('ocsp-responder.pem'),
    officerCertPath: p('officer-01.pem'), officerKeyPath: p('officer-01.key.pem'),
    operatorCertPath: p('operator-01.pem'), operatorKeyPath: p('operator-01.key.pem'),
    auditorCertPath: p('auditor-01.pem'), auditorKeyPath: p('auditor-01.key.pem'),
  };
}
