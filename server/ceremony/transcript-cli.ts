/**
 * `keyline ceremony verify-transcript`: checks a ceremony transcript on its own (every hash link,
 * every root signature) and prints what each step did. Needs no token and no server: an auditor
 * runs it on a copy, with the root certificate published out of band.
 */
import { resolve } from 'node:path';
import { KeylineError } from '../../common/errors.js';
import { parseCommand } from '../../common/cli.js';
import { fromPem } from '../../common/pem.js';
import type * as x509 from '../../common/x509.js';
import { isSelfSigned, toCert } from '../ca/chain.js';
import { CEREMONY_FILES, fingerprintColons, readRootCert } from './ceremony-folder.js';
import { readTranscript, verifyTranscript, type TranscriptEntry } from './transcript.js';

const USAGE = `Usage: keyline ceremony verify-transcript [--transcript FILE] [--root-cert root-ca.pem] [--json]

Checks a ceremony transcript: each entry's hash, the chain of hashes from the first entry, and
the root key's signature on every entry. Prints one line per step (who, witnesses, what) and the
root certificate's SHA-256 fingerprint: compare it with the one published out of band. Without
--root-cert, the root certificate recorded by the transcript's first entry is used (then the
fingerprint comparison is what proves anything). Exit 0 when valid, 1 when not.

Options:
  --transcript FILE   the transcript (default ./${CEREMONY_FILES.transcript})
  --root-cert FILE    the root certificate to check the signatures with
  --json              print a JSON verdict`;

/** `keyline ceremony verify-transcript`. */
export async function verifyTranscriptStep(argv: string[]): Promise<number> {
  const args = parseCommand(argv, { usage: USAGE, options: { transcript: { type: 'string' }, 'root-cert': { type: 'string' }, json: { type: 'boolean' } } });
  if (!args) return 0;
  const v = args.values;
  const path = resolve(v.transcript ?? CEREMONY_FILES.transcript);
  const entries = readTranscript(path);
  if (entries.length === 0) throw new KeylineError('TRANSCRIPT_INVALID', `${path}: no transcript entries`);
  const root = v['root-cert'] ? readRootCert(resolve(v['root-cert'])) : recordedRoot(entries[0]!);
  const verdict = verifyTranscript(entries, new Uint8Array(root.publicKey.rawData));
  const fingerprint = fingerprintColons(new Uint8Array(root.rawData));
  if (v.json) {
    process.stdout.write(JSON.stringify({ ok: true, transcript: path, ...verdict, root: { subject: root.subject, fingerprintSha256: fingerprint, given: !!v['root-cert'] }, steps: entries.map(summary) }, null, 2) + '\n');
  } else {
    for (const e of entries) {
      const s = summary(e);
      process.stdout.write(`${s.seq}. ${s.at} ${s.step} by ${s.actor}, witnesses ${s.witnesses.join(', ') || '(none)'}: ${s.what}\n`);
    }
    process.stdout.write(`transcript OK: ${verdict.entries} entries, every link and root signature verified (head ${verdict.head})\n`);
    process.stdout.write(`root '${root.subject}' SHA-256 ${fingerprint}${v['root-cert'] ? '' : ' (from the transcript itself: compare with the published fingerprint)'}\n`);
  }
  return 0;
}

/** The root certificate the first entry recorded. */
function recordedRoot(first: TranscriptEntry): x509.X509Certificate {
  const pem = first.detail.rootCertPem;
  if (first.step !== 'root' || typeof pem !== 'string') throw new KeylineError('TRANSCRIPT_INVALID', 'transcript: the first entry records no root certificate; pass --root-cert');
  const cert = toCert(fromPem(pem));
  if (!isSelfSigned(cert)) throw new KeylineError('TRANSCRIPT_INVALID', 'transcript: the recorded root certificate is not self-signed');
  return cert;
}

/** One step in a line. */
function summary(e: TranscriptEntry): { seq: number; at: string; step: string; actor: string; witnesses: string[]; what: string; hash: string } {
  const d = e.detail as { certificate?: { subject?: string; serial?: string; sha256?: string }; crl?: { number: number; nextUpdate: string; revoked: unknown[] }; reason?: string; keyId?: string };
  const crl = d.crl ? `; root CRL ${d.crl.number} (${d.crl.revoked.length} revoked, next update ${d.crl.nextUpdate})` : '';
  const what = e.step === 'root' ? `root '${d.certificate?.subject}' serial ${e.subject}, SHA-256 ${d.certificate?.sha256}${crl}`
    : e.step === 'sign-csr' ? `issuing CA '${d.certificate?.subject}' serial ${e.subject}, key id ${d.keyId}${crl}`
    : e.step === 'revoke-issuing' ? `issuing CA serial ${e.subject} revoked (${d.reason ?? 'already revoked'})${crl}`
    : `root CRL re-signed${crl}`;
  return { seq: e.seq, at: e.at, step: e.step, actor: e.actor, witnesses: e.witnesses, what, hash: e.hash };
}
