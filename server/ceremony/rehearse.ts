/**
 * `keyline ceremony rehearse`: the whole production sequence on throw-away SoftHSM tokens, so a
 * team practises before the real day and sees each command's effect: the root in its own token,
 * the issuing key in a separate line token, CSR and signature across the "air gap" (two folders),
 * the server started on the result, one unit issued and checked by OpenSSL (the whole chain with
 * -crl_check_all, and OCSP), the issuing CA revoked by the root, its CRL imported and published,
 * OpenSSL refusing the chain and the server refusing to issue, and the transcript verified and
 * imported into the audit log. Each step names the command it stands for.
 */
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { KeylineError } from '../../common/errors.js';
import { fromPem, toPem } from '../../common/pem.js';
import { configSchema } from '../config.js';
import { toCert } from '../ca/chain.js';
import { parseCrl } from '../ca/crl-info.js';
import { verifyAuditChain } from '../audit/audit-log.js';
import type { KeyStore } from '../hsm/key-store.js';
import { openKeyStore } from '../hsm/open-key-store.js';
import { openPkcs11Module } from '../hsm/pkcs11-module.js';
import { initSoftHsmToken, randomPin, writeSoftHsmConf } from '../hsm/softhsm.js';
import { importRootCrl } from '../services/root-crl-import.js';
import { openStore } from '../store/open-store.js';
import type { DevCa } from './dev-cas.js';
import { devCeremony, writeSecret } from './dev-ceremony.js';
import { issuePeopleIdentities, issueServerIdentity, issueStationIdentity } from './dev-identities.js';
import { ceremonyPaths, loadVerifiedTranscript, readRootCert } from './ceremony-folder.js';
import { apiCall, fetchBytes, freePort, ocspCheck, verifyWithCrls, type Identity } from './rehearse-checks.js';
import { runRootCeremony } from './root-ceremony.js';
import { revokeIssuingCa } from './root-revocation.js';
import { openRootToken } from './root-token.js';
import { makeIssuingCsr, recordSignCsr, signIssuingCsrCert } from './sign-csr.js';
import { importTranscript } from './transcript-import.js';

/** A server the rehearsal starts (main.ts's startServer, injected by the CLI). */
export type StartServer = (configFile: string) => Promise<{ apiUrl: string; publicUrl: string; close(): Promise<void> }>;

/** What the rehearsal needs. */
export interface RehearsalOptions {
  /** An empty work folder: tokens/, ceremony/ (the offline side), line/ (the server's side). */
  dir: string;
  /** SoftHSM2's PKCS#11 module (found when absent). */
  module?: string | undefined;
  org?: string;
  witnesses: string[];
  actor: string;
  startServer: StartServer;
  progress?: (line: string) => void;
}

/** One step of the rehearsal and what it showed. */
export interface RehearsalStep {
  name: string;
  /** The production command this step stands for. */
  command: string;
  ok: boolean;
  detail: string;
}

/** The rehearsal's outcome. */
export interface RehearsalResult {
  ok: boolean;
  dir: string;
  rootFingerprintSha256: string;
  steps: RehearsalStep[];
}

const ROOT_TOKEN = 'rehearsal-root';
const LINE_TOKEN = 'rehearsal-line';

/** Runs the rehearsal; a failing check is reported as a step, an unexpected failure throws. */
export async function rehearse(o: RehearsalOptions): Promise<RehearsalResult> {
  const org = o.org ?? 'Keyline Rehearsal';
  const steps: RehearsalStep[] = [];
  const step = (name: string, command: string, ok: boolean, detail: string) => {
    steps.push({ name, command, ok, detail });
    o.progress?.(`${ok ? 'ok  ' : 'FAIL'} ${name}: ${detail}\n       (${command})`);
    return ok;
  };
  const dirs = { tokens: join(o.dir, 'tokens'), ceremony: join(o.dir, 'ceremony'), line: join(o.dir, 'line') };
  for (const d of Object.values(dirs)) mkdirSync(d, { recursive: true, mode: 0o700 });
  const softhsmConf = writeSoftHsmConf(dirs.tokens);
  const pins = { root: join(dirs.tokens, 'root.pin'), line: join(dirs.tokens, 'line.pin') };
  writeSecret(pins.root, randomPin());
  writeSecret(pins.line, randomPin());
  const pkcs11 = openPkcs11Module({ path: o.module, softhsmConf });
  let line: KeyStore | undefined;
  let server: Awaited<ReturnType<StartServer>> | undefined;
  try {
    initSoftHsmToken(pkcs11, { label: ROOT_TOKEN, soPin: randomPin(), userPin: readFileSync(pins.root, 'utf8').trim() });
    initSoftHsmToken(pkcs11, { label: LINE_TOKEN, soPin: randomPin(), userPin: readFileSync(pins.line, 'utf8').trim() });
    const [apiPort, publicPort] = [await freePort(), await freePort()];
    const pub = `http://127.0.0.1:${publicPort}`;
    const rootCrlUrl = `${pub}/crl/root.crl`;
    const rootToken = { module: o.module, softhsmConf, token: ROOT_TOKEN, pinFile: pins.root };
    const tokenFlags = `--token ${ROOT_TOKEN} --pin-file tokens/root.pin ${o.witnesses.map((w) => `--witness '${w}'`).join(' ')}`;

    // 1. The root, offline, in its own token.
    const root = await runRootCeremony({ token: rootToken, subject: `CN=${org} Root CA, O=${org}`, out: dirs.ceremony, witnesses: o.witnesses, actor: o.actor, crlUrl: rootCrlUrl, lineTokens: [LINE_TOKEN] });
    step('root', `keyline ceremony root ${tokenFlags} --subject "CN=${org} Root CA, O=${org}" --crl-url ${rootCrlUrl} --out ceremony`, true, `'${root.subject}', SHA-256 ${root.fingerprintSha256}; root CRL 1`);

    // 2. The issuing key on the line token and its request.
    line = openKeyStore({ module: o.module, softhsmConf, tokenLabel: LINE_TOKEN }, readFileSync(pins.line, 'utf8').trim(), { sessions: 2 });
    const issuingKeyRef = `pkcs11:token=${LINE_TOKEN};object=issuing-ca`;
    const csrPem = await makeIssuingCsr({ lineStore: line, keyRef: issuingKeyRef, org });
    writeFileSync(join(dirs.line, 'issuing-ca.csr'), csrPem);
    step('csr', 'keyline ceremony csr --config line/keyline.json --out issuing-ca.csr', true, `issuing CA key ${issuingKeyRef} made in the line token`);
    const refused = await runRootCeremony({ token: { ...rootToken, token: LINE_TOKEN, pinFile: pins.line }, subject: 'CN=Wrong', out: join(o.dir, 'refused'), witnesses: o.witnesses, actor: o.actor }).then(() => null, (err: unknown) => err as KeylineError);
    step('root refused on the line token', `keyline ceremony root --token ${LINE_TOKEN} ...`, refused?.code === 'LINE_TOKEN', refused ? `${refused.code}: ${refused.message}` : 'a root was made on the line token');

    // 3. The root signs it (offline); the step goes into the transcript.
    const issuingPath = join(dirs.line, 'issuing-ca.pem');
    const rt = openRootToken(rootToken);
    try {
      const signed = await signIssuingCsrCert({ rootStore: rt.store, rootKeyRef: rt.keyRef, rootCertPem: readFileSync(root.rootCertPath, 'utf8'), csrPem, crlUrl: rootCrlUrl });
      writeFileSync(issuingPath, toPem(new Uint8Array(signed.issuing.rawData)));
      await recordSignCsr({ transcriptPath: root.transcriptPath, issuing: signed.issuing, csrPem, crlUrl: rootCrlUrl, witnesses: o.witnesses, actor: o.actor, rootSigner: signed.rootSigner });
      step('sign-csr', `keyline ceremony sign-csr --csr issuing-ca.csr --root-cert ceremony/root-ca.pem --root-key ${rt.keyRef} --pin-file tokens/root.pin ${o.witnesses.map((w) => `--witness '${w}'`).join(' ')} --out issuing-ca.pem`, true, `issuing CA serial ${signed.issuing.serialNumber}, CDP ${rootCrlUrl}`);
    } finally {
      await rt.store.close();
    }

    // 4. The line side: identities, config, the root's certificate and CRL carried across.
    const issuing: DevCa = { keyRef: issuingKeyRef, signer: await line.getSigner(issuingKeyRef), cert: toCert(fromPem(readFileSync(issuingPath, 'utf8'))) };
    const c = devCeremony({ out: dirs.line, org, now: new Date() });
    await issueServerIdentity(c, issuing, []);
    await issueStationIdentity(c, issuing, 'station-01');
    await issuePeopleIdentities(c, issuing);
    await line.close();
    line = undefined;
    copyFileSync(root.rootCertPath, join(dirs.line, 'root-ca.pem'));
    copyFileSync(root.rootCrlPath, join(dirs.line, 'root-ca.crl'));
    const configFile = join(dirs.line, 'keyline.json');
    writeFileSync(configFile, JSON.stringify(configSchema.parse({
      server: { port: apiPort, publicPort, tlsCert: 'server.pem', tlsKey: 'server.key.pem' },
      hsm: { ...(o.module ? { module: o.module } : {}), softhsmConf, tokenLabel: LINE_TOKEN, pin: { file: pins.line }, issuingKey: issuingKeyRef },
      ca: { rootCert: 'root-ca.pem', issuingCert: 'issuing-ca.pem', rootCrl: 'root-ca.crl', crlUrl: `${pub}/crl/issuing.crl`, ocspUrl: `${pub}/ocsp` },
      store: { url: 'sqlite:keyline.db' },
      log: { level: 'warn' },
      enroll: { enabled: false },
    }), null, 2) + '\n');

    // 5. The server, on the line token only.
    server = await o.startServer(configFile);
    step('server', 'keyline server --config line/keyline.json', true, `api ${server.apiUrl}, public ${server.publicUrl} (root CRL imported from ca.rootCrl)`);
    const store = await openStore(`sqlite:${join(dirs.line, 'keyline.db')}`);
    try {
      return await againstServer({ o, step, steps, dirs, server, store, root, rootToken, rootCrlUrl, issuingPath, pub });
    } finally {
      await store.close();
    }
  } finally {
    await server?.close();
    await line?.close();
    pkcs11.release();
  }
}

/** Steps 6-12: a unit issued and checked, the CA revoked and refused, the records checked. */
async function againstServer(x: {
  o: RehearsalOptions; step: (name: string, command: string, ok: boolean, detail: string) => boolean; steps: RehearsalStep[];
  dirs: { ceremony: string; line: string }; server: { apiUrl: string; publicUrl: string }; store: Awaited<ReturnType<typeof openStore>>;
  root: Awaited<ReturnType<typeof runRootCeremony>>; rootToken: Parameters<typeof openRootToken>[0]; rootCrlUrl: string; issuingPath: string; pub: string;
}): Promise<RehearsalResult> {
  const { o, step, dirs, server, store } = x;
  const read = (f: string) => readFileSync(join(dirs.line, f), 'utf8');
  const ca = read('root-ca.pem');
  const as = (id: string): Identity => ({ cert: read(`${id}.pem`), key: read(`${id}.key.pem`), ca });
  const rootPem = ca;
  const issuingPem = readFileSync(x.issuingPath, 'utf8');
  const rootCert = readRootCert(x.root.rootCertPath);

  // 6. The transcript into the audit log.
  const imported = await importTranscript(store, loadVerifiedTranscript(x.root.transcriptPath, rootCert), rootCert);
  step('audit import', 'keyline audit import --transcript ceremony/ceremony-transcript.jsonl --config line/keyline.json', imported.imported === 2, `${imported.imported} transcript entries appended`);

  // 7. One unit, as a station would.
  const wo = await apiCall(server.apiUrl, as('operator-01'), 'POST', '/v1/work-orders', { id: 'WO-REHEARSAL', product: 'Rehearsal', quota: 10 });
  const unit = await apiCall(server.apiUrl, as('station-01'), 'POST', '/v1/units', { serial: chipSerial(), publicKey: rawPublicKeyHex(), workOrder: 'WO-REHEARSAL' });
  const certPem = String(unit.body.certificatePem ?? '');
  step('unit issued', 'POST /v1/units (keyline station run)', wo.status === 201 && unit.status === 201, `work order ${wo.status}, unit ${unit.status} certificate serial ${String(unit.body.certificateSerial ?? '-')}`);

  // 8. OpenSSL checks the whole chain with both CRLs as published, and asks OCSP.
  const issuingCrl = await fetchBytes(`${x.pub}/crl/issuing.crl`);
  let rootCrl = await fetchBytes(x.rootCrlUrl);
  const good = await verifyWithCrls(dirs.line, { rootPem, issuingPem, certPem, crls: [rootCrl, issuingCrl], name: 'good' });
  step('openssl verify -crl_check_all', 'openssl verify -crl_check_all -CAfile root-ca.pem -untrusted issuing-ca.pem -CRLfile root.crl -CRLfile issuing.crl unit.pem', good.ok, good.out);
  const ocsp = await ocspCheck(dirs.line, { rootPem, issuingPem, certPem, url: `${x.pub}/ocsp`, name: 'ocsp' });
  step('openssl ocsp', `openssl ocsp -issuer issuing-ca.pem -cert unit.pem -url ${x.pub}/ocsp -CAfile root-ca.pem`, ocsp.ok && /: good/.test(ocsp.out) && /Response verify OK/.test(ocsp.out), ocsp.out.replace(/\s+/g, ' '));

  // 9. Compromise: the root revokes the issuing CA; its CRL goes to the server.
  const revoked = await revokeIssuingCa({ token: x.rootToken, dir: dirs.ceremony, witnesses: o.witnesses, actor: o.actor, issuingCertPath: x.issuingPath, reason: 'keyCompromise' });
  step('revoke-issuing', 'keyline ceremony revoke-issuing --cert issuing-ca.pem --reason keyCompromise --token ... --witness ... --out ceremony', revoked.number === 2, `root CRL ${revoked.number} lists serial ${revoked.serial}`);
  await importRootCrl(store, readFileSync(ceremonyPaths(dirs.ceremony).rootCrl), rootCert, `rehearsal:${o.actor}`);
  const deadline = Date.now() + 5000;
  while (parseCrl(rootCrl).number !== 2 && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
    rootCrl = await fetchBytes(x.rootCrlUrl);
  }
  step('root CRL published', 'keyline ca import-crl --crl ceremony/root-ca.crl --config line/keyline.json', parseCrl(rootCrl).number === 2, `the server serves root CRL ${parseCrl(rootCrl).number} at ${x.rootCrlUrl}`);

  // 10. OpenSSL now refuses the chain; the server refuses to issue.
  const bad = await verifyWithCrls(dirs.line, { rootPem, issuingPem, certPem, crls: [rootCrl, await fetchBytes(`${x.pub}/crl/issuing.crl`)], name: 'revoked' });
  step('openssl refuses the chain', 'openssl verify -crl_check_all ... unit.pem', !bad.ok && /certificate revoked/.test(bad.out), bad.out.replace(/\s+/g, ' '));
  const after = await apiCall(server.apiUrl, as('station-01'), 'POST', '/v1/units', { serial: chipSerial(), publicKey: rawPublicKeyHex(), workOrder: 'WO-REHEARSAL' });
  const code = (after.body.error as { code?: string } | undefined)?.code;
  step('server refuses to issue', 'POST /v1/units', after.status === 503 && code === 'CA_REVOKED', `HTTP ${after.status} ${code ?? ''}`);

  // 11. The records: transcript and audit log.
  const entries = loadVerifiedTranscript(x.root.transcriptPath, rootCert);
  const again = await importTranscript(store, entries, rootCert);
  const audit = await verifyAuditChain(store);
  step('transcript and audit log', 'keyline ceremony verify-transcript --transcript ceremony/ceremony-transcript.jsonl --root-cert ceremony/root-ca.pem; keyline audit import ...; keyline audit verify',
    entries.length === 3 && again.imported === 1 && audit.ok, `${entries.length} transcript entries verified, ${again.imported} more imported, audit log ${audit.ok ? 'OK' : 'BROKEN'} (${audit.count} records)`);
  return { ok: x.steps.every((s) => s.ok), dir: o.dir, rootFingerprintSha256: x.root.fingerprintSha256, steps: x.steps };
}

function chipSerial(): string {
  return ('0123' + randomBytes(6).toString('hex') + 'EE').toUpperCase();
}

function rawPublicKeyHex(): string {
  const spki = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ format: 'der', type: 'spki' });
  return spki.subarray(spki.length - 64).toString('hex');
}
