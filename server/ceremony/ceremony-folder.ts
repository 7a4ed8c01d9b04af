/**
 * The production ceremony's folder (--out): the root certificate, the root's latest CRL and the
 * transcript, under fixed names, so each offline step finds what the previous one left. Also
 * the small facts every step prints or records: who ran it, a certificate's fingerprint.
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { join } from 'node:path';
import { KeylineError } from '../../common/errors.js';
import { fromPem, toPem } from '../../common/pem.js';
import type * as x509 from '../../common/x509.js';
import { isSelfSigned, toCert } from '../ca/chain.js';
import { sha256Hex } from './ceremony-event.js';
import { readTranscript, verifyTranscript, type TranscriptEntry } from './transcript.js';

/** File names inside the ceremony folder. */
export const CEREMONY_FILES = { rootCert: 'root-ca.pem', rootCrl: 'root-ca.crl', transcript: 'ceremony-transcript.jsonl' } as const;

/** The paths of the ceremony folder `dir`. */
export function ceremonyPaths(dir: string): { rootCert: string; rootCrl: string; transcript: string; numberedCrl(n: number): string } {
  return {
    rootCert: join(dir, CEREMONY_FILES.rootCert), rootCrl: join(dir, CEREMONY_FILES.rootCrl), transcript: join(dir, CEREMONY_FILES.transcript),
    numberedCrl: (n) => join(dir, `root-ca-${n}.crl`),
  };
}

/** Who runs the command, for the transcript (the operating-system account). */
export function actorName(): string {
  try {
    return userInfo().username;
  } catch {
    return 'unknown';
  }
}

/** SHA-256 of a DER certificate as OpenSSL prints it (AB:CD:...), for out-of-band comparison. */
export function fingerprintColons(der: Uint8Array): string {
  return sha256Hex(der).toUpperCase().match(/../g)!.join(':');
}

/** Reads the self-signed root certificate at `path` (CHAIN_INVALID when it is not self-signed). */
export function readRootCert(path: string): x509.X509Certificate {
  if (!existsSync(path)) throw new KeylineError('VALIDATION_FAILED', `root certificate ${path} does not exist`);
  const cert = toCert(fromPem(readFileSync(path, 'utf8')));
  if (!isSelfSigned(cert)) throw new KeylineError('CHAIN_INVALID', `${path}: '${cert.subject}' is not a self-signed root`);
  return cert;
}

/**
 * The transcript at `path`, checked link by link against `root`'s key before a step extends it:
 * a step never signs on top of a transcript someone altered. TRANSCRIPT_INVALID when absent.
 */
export function loadVerifiedTranscript(path: string, root: x509.X509Certificate): TranscriptEntry[] {
  const entries = readTranscript(path);
  if (entries.length === 0) throw new KeylineError('TRANSCRIPT_INVALID', `${path}: no ceremony transcript (make the root with 'keyline ceremony root' first, or pass --transcript)`);
  verifyTranscript(entries, new Uint8Array(root.publicKey.rawData));
  return entries;
}

/** Writes a root CRL as the current one and as a numbered copy (root-ca-N.crl) kept for the record. */
export function writeRootCrl(dir: string, number: number, der: Uint8Array): string {
  const p = ceremonyPaths(dir);
  writeFileSync(p.rootCrl, der);
  writeFileSync(p.numberedCrl(number), der);
  return p.rootCrl;
}

/** A certificate as PEM text. */
export function certPem(c: x509.X509Certificate): string {
  return toPem(new Uint8Array(c.rawData));
}
