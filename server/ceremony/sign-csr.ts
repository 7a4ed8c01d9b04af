/**
 * The production ceremony's two halves: on the line, `csr` makes the issuing CA key in the line
 * token and writes its PKCS#10 request; in the controlled environment, `sign-csr` has the root
 * (its own token, never named in the server config) sign that request into the issuing CA
 * certificate. Only the request and certificates cross between the two.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { KeylineError, hasCode } from '../../common/errors.js';
import { fromPem, toPem } from '../../common/pem.js';
import * as x509 from '../../common/x509.js';
import type { KeyStore, Signer } from '../hsm/key-store.js';
import { curveOfSpki } from '../hsm/ec-key-info.js';
import { parsePkcs11Uri } from '../hsm/pkcs11-uri.js';
import { ecdsaSignatureValid, toCert, verifyChain } from '../ca/chain.js';
import { createIssuingCa, createIssuingCaCsr } from '../ca/profiles.js';
import { certFacts, sha256Hex, type CeremonyEvent } from './ceremony-event.js';
import { caKeyId } from '../ca/key-id.js';
import { appendTranscript, type TranscriptEntry } from './transcript.js';

/** Makes (or reuses) the issuing key named by `keyRef` in `lineStore` and returns its CSR as PEM. */
export async function makeIssuingCsr(p: { lineStore: KeyStore; keyRef: string; org: string; record?: (e: CeremonyEvent) => Promise<void> }): Promise<string> {
  const label = parsePkcs11Uri(p.keyRef).object;
  if (!label) throw new KeylineError('VALIDATION_FAILED', `hsm.issuingKey: '${p.keyRef}' names no object= label`);
  let signer;
  try {
    signer = await p.lineStore.getSigner(p.keyRef);
  } catch (err) {
    if (!hasCode(err, 'HSM_KEY_NOT_FOUND')) throw err;
    await p.lineStore.generateKeyPair({ label, curve: 'P-256' });
    signer = await p.lineStore.getSigner(p.keyRef);
    await p.record?.({ action: 'ceremony.issuing.keygen', actor: 'ceremony', subject: p.keyRef, detail: { curve: 'P-256' } });
  }
  const csr = await createIssuingCaCsr({ signer, org: p.org });
  await p.record?.({ action: 'ceremony.issuing.csr', actor: 'ceremony', subject: csr.subject });
  return toPem(new Uint8Array(csr.rawData), 'CERTIFICATE REQUEST');
}

/**
 * Signs an issuing CA request with the root: checks the request's own signature (proof that the
 * requester holds the key), issues the issuing CA profile and verifies the result against the root.
 */
export async function signIssuingCsr(p: { rootStore: KeyStore; rootKeyRef: string; rootCertPem: string; csrPem: string; org?: string | undefined; crlUrl?: string | undefined; now?: Date; record?: (e: CeremonyEvent) => Promise<void> }): Promise<string> {
  return toPem(new Uint8Array((await signIssuingCsrCert(p)).issuing.rawData));
}

/** As signIssuingCsr, returning the certificate, the request and the root signer (the transcript step records them). */
export async function signIssuingCsrCert(p: { rootStore: KeyStore; rootKeyRef: string; rootCertPem: string; csrPem: string; org?: string | undefined; crlUrl?: string | undefined; now?: Date; record?: (e: CeremonyEvent) => Promise<void> }): Promise<{ issuing: x509.X509Certificate; csr: x509.Pkcs10CertificateRequest; rootSigner: Signer }> {
  let csr: x509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(fromPem(p.csrPem, 'CERTIFICATE REQUEST').slice().buffer as ArrayBuffer);
  } catch (err) {
    throw new KeylineError('INVALID_CSR', 'csr: not a PEM PKCS#10 certificate request', { cause: err });
  }
  const spki = new Uint8Array(csr.publicKey.rawData);
  if (!ecdsaSignatureValid(csr, spki)) throw new KeylineError('CSR_SIGNATURE_INVALID', `csr '${csr.subject}': signature does not verify with its own public key`);
  const root = toCert(fromPem(p.rootCertPem));
  const rootSigner = await p.rootStore.getSigner(p.rootKeyRef);
  if (!Buffer.from(await rootSigner.publicKeySpki()).equals(Buffer.from(root.publicKey.rawData))) {
    throw new KeylineError('CA_KEY_MISMATCH', `root key '${p.rootKeyRef}' does not match root certificate '${root.subject}'`);
  }
  // The subject follows the issuing CA profile; its organisation defaults to the request's O.
  const org = p.org ?? csr.subjectName.getField('O')[0];
  if (!org) throw new KeylineError('INVALID_CSR', `csr '${csr.subject}': no O= in the subject and no --org given`);
  // The issuing CA profile is fixed to P-256: the chip verifies device certificates with it.
  if (curveOfSpki(spki) !== 'P-256') throw new KeylineError('UNSUPPORTED_CURVE', `csr '${csr.subject}': the issuing CA key must be P-256 (the chip verifies P-256)`);
  const issuing = await createIssuingCa({ root: { signer: rootSigner, cert: root }, subjectSpki: spki, org, now: p.now, ...(p.crlUrl ? { crlUrl: p.crlUrl } : {}) });
  verifyChain(issuing, [], root, p.now);
  await p.record?.({ action: 'ceremony.issuing.sign', actor: 'ceremony', subject: issuing.serialNumber, detail: { subject: issuing.subject, notAfter: issuing.notAfter.toISOString() } });
  return { issuing, csr, rootSigner };
}

/** Reads a text file, naming the option at fault when it is missing. */
export function readOption(path: string, option: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new KeylineError('VALIDATION_FAILED', `${option}: cannot read ${path}`, { cause: err });
  }
}

/** Appends events as JSON lines (the offline side has no database; import them later). */
export function appendJsonl(path: string, events: CeremonyEvent[]): void {
  writeFileSync(path, events.map((e) => JSON.stringify({ at: new Date().toISOString(), ...e }) + '\n').join(''), { flag: 'a' });
}

/**
 * The label for the next issuing CA key in the line token (`csr --next`): issuing-ca-N, one
 * above the highest N present (issuing-ca itself counting as 1), so a rotated CA never reuses a
 * label and keyline.json can name both keys at once.
 */
export async function nextIssuingLabel(lineStore: KeyStore): Promise<string> {
  let top = 0;
  for (const k of await lineStore.listPrivateKeys()) {
    const m = /^issuing-ca(?:-(\d+))?$/.exec(k.label);
    if (m) top = Math.max(top, m[1] ? Number(m[1]) : 1);
  }
  return `issuing-ca-${Math.max(top, 1) + 1}`;
}

/** Records a sign-csr step in the ceremony transcript (signed by the root key that just signed the CA). */
export async function recordSignCsr(p: { transcriptPath: string; issuing: x509.X509Certificate; csrPem: string; crlUrl: string | undefined; witnesses: string[]; actor: string; rootSigner: Signer }): Promise<TranscriptEntry> {
  const pem = toPem(new Uint8Array(p.issuing.rawData));
  return appendTranscript(p.transcriptPath, {
    step: 'sign-csr', actor: p.actor, witnesses: p.witnesses, subject: p.issuing.serialNumber,
    detail: { csrSha256: sha256Hex(fromPem(p.csrPem, 'CERTIFICATE REQUEST')), keyId: caKeyId(p.issuing), certificate: certFacts(p.issuing), ...(p.crlUrl ? { crlUrl: p.crlUrl } : {}), issuingCertPem: pem },
  }, p.rootSigner);
}
