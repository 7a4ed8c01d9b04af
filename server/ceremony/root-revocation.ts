/**
 * The root's two later offline steps, both signing the next root CRL from the state the
 * transcript records: `ceremony revoke-issuing` adds an issuing CA (compromised, retired) to the
 * list, `ceremony crl` re-signs the same list before its nextUpdate (the yearly ceremony). The
 * transcript is verified against the root key before either extends it. The server imports the
 * result (`keyline ca import-crl`), publishes it at the CDP of the issuing CA certificates and
 * refuses to issue with any CA it lists. A development PKI (init --dev) has no transcript: then
 * the current root-ca.crl, checked against the root, is the state, and nothing is recorded.
 */
import { existsSync, readFileSync } from 'node:fs';
import { KeylineError } from '../../common/errors.js';
import { fromPem } from '../../common/pem.js';
import type { RevocationReason } from '../../common/protocol/revocation.js';
import type * as x509 from '../../common/x509.js';
import { signedBy, toCert } from '../ca/chain.js';
import { caKeyId } from '../ca/key-id.js';
import { certFacts } from './ceremony-event.js';
import { ceremonyPaths, loadVerifiedTranscript, readRootCert, writeRootCrl } from './ceremony-folder.js';
import { lastRootCrl, rootCrlFileState, signRootCrl, type RevokedCa } from './root-crl.js';
import { openRootToken, type RootTokenOptions } from './root-token.js';
import { appendTranscript } from './transcript.js';

/** What both steps share. */
export interface RootCrlStepOptions {
  token: RootTokenOptions;
  /** The ceremony folder (root-ca.pem, root-ca.crl, ceremony-transcript.jsonl). */
  dir: string;
  /** The root certificate (default <dir>/root-ca.pem) and the transcript (default <dir>/ceremony-transcript.jsonl). */
  rootCertPath?: string | undefined;
  transcriptPath?: string | undefined;
  witnesses: string[];
  actor: string;
  /** The new CRL's validity in days (default 365). */
  crlDays?: number;
  now?: Date;
}

/** The CRL a step signed. */
export interface RootCrlStepResult {
  crlPath: string;
  number: number;
  thisUpdate: string;
  nextUpdate: string;
  revoked: RevokedCa[];
  /** The transcript entry recording the step (null for a PKI without a transcript: init --dev). */
  transcriptHash: string | null;
}

/** Revokes an issuing CA certificate: the next root CRL lists it with `reason`. */
export async function revokeIssuingCa(o: RootCrlStepOptions & { issuingCertPath: string; reason: RevocationReason }): Promise<RootCrlStepResult & { serial: string; alreadyRevoked: boolean }> {
  const issuing = readIssuing(o.issuingCertPath);
  const serialHex = issuing.serialNumber.toLowerCase().replace(/^0+(?=.)/, '');
  let already = false;
  const result = await signNext(o, 'revoke-issuing', serialHex, (revoked, root, now) => {
    if (!signedBy(issuing, root)) throw new KeylineError('CHAIN_INVALID', `${o.issuingCertPath}: '${issuing.subject}' (serial ${issuing.serialNumber}) was not issued by root '${root.subject}'`);
    // Revoking twice keeps the first reason and time, as `keyline revoke` does for devices.
    if (revoked.some((r) => r.serialHex === serialHex)) {
      already = true;
      return { revoked, detail: { alreadyRevoked: true, certificate: certFacts(issuing) } };
    }
    const entry: RevokedCa = { serialHex, reason: o.reason, revokedAt: new Date(Math.floor(now.getTime() / 1000) * 1000).toISOString(), subject: issuing.subject, keyId: caKeyId(issuing) };
    return { revoked: [...revoked, entry], detail: { reason: o.reason, certificate: certFacts(issuing) } };
  });
  return { ...result, serial: serialHex, alreadyRevoked: already };
}

/** Re-signs the root CRL with the same list and a new nextUpdate. */
export async function resignRootCrl(o: RootCrlStepOptions): Promise<RootCrlStepResult> {
  return signNext(o, 'crl', 'root-crl', (revoked) => ({ revoked, detail: {} }));
}

/** Opens the token, verifies the transcript, signs CRL number last+1, writes it and records the step. */
async function signNext(
  o: RootCrlStepOptions, step: 'revoke-issuing' | 'crl', subject: string,
  change: (revoked: RevokedCa[], root: x509.X509Certificate, now: Date) => { revoked: RevokedCa[]; detail: Record<string, unknown> },
): Promise<RootCrlStepResult> {
  const now = o.now ?? new Date();
  const paths = ceremonyPaths(o.dir);
  const root = readRootCert(o.rootCertPath ?? paths.rootCert);
  const transcriptPath = o.transcriptPath ?? paths.transcript;
  // Without a transcript (a development PKI made by init --dev), the last root CRL itself carries the state.
  const withTranscript = o.transcriptPath !== undefined || existsSync(transcriptPath);
  const last = withTranscript ? lastRootCrl(loadVerifiedTranscript(transcriptPath, root)) : rootCrlFileState(paths.rootCrl, root);
  const { revoked, detail } = change(last.revoked, root, now);
  const token = openRootToken(o.token);
  try {
    const signer = await token.store.getSigner(token.keyRef);
    if (!Buffer.from(await signer.publicKeySpki()).equals(Buffer.from(root.publicKey.rawData))) {
      throw new KeylineError('CA_KEY_MISMATCH', `root key '${token.keyRef}' does not match root certificate '${root.subject}'`);
    }
    const number = last.number + 1;
    const crl = await signRootCrl({ signer, root, number, revoked, now, validityDays: o.crlDays ?? 365 });
    const crlPath = writeRootCrl(o.dir, number, crl.der);
    const entry = withTranscript ? await appendTranscript(transcriptPath, { step, actor: o.actor, witnesses: o.witnesses, subject, at: now, detail: { ...detail, crl: crl.facts } }, signer) : null;
    return { crlPath, number, thisUpdate: crl.facts.thisUpdate, nextUpdate: crl.facts.nextUpdate, revoked, transcriptHash: entry?.hash ?? null };
  } finally {
    await token.store.close();
  }
}

function readIssuing(path: string): x509.X509Certificate {
  try {
    return toCert(fromPem(readFileSync(path, 'utf8')));
  } catch (err) {
    throw new KeylineError('VALIDATION_FAILED', `--cert: ${path} is not a PEM certificate`, { cause: err });
  }
}

