/**
 * Copies a verified ceremony transcript into the server's audit chain (`keyline audit import`):
 * one `ceremony.<step>` record per entry, naming the transcript, the entry's hash, its time and
 * witnesses, so the audit log shows how the PKI came to be and a later `audit verify` covers it.
 * Idempotent: entries already imported (by transcript identity and seq) are skipped, in the same
 * transaction that appends the rest.
 */
import type * as x509 from '../../common/x509.js';
import type { Store } from '../store/store.js';
import { verifyTranscript, type TranscriptEntry } from './transcript.js';

/** What an import did. */
export interface TranscriptImport {
  /** The transcript's identity: its first entry's hash. */
  id: string;
  imported: number;
  skipped: number;
  head: string;
}

// PEM copies stay in the transcript; the audit record keeps the facts and fingerprints.
const BULKY = new Set(['rootCertPem', 'issuingCertPem']);

/** Verifies `entries` against `root`, then appends the entries not imported before. */
export async function importTranscript(store: Store, entries: TranscriptEntry[], root: x509.X509Certificate): Promise<TranscriptImport> {
  const verdict = verifyTranscript(entries, new Uint8Array(root.publicKey.rawData));
  let imported = 0;
  await store.transaction(async (tx) => {
    for (const e of entries) {
      if (!(await tx.ca.markTranscriptEntry(verdict.id, e.seq, e.hash))) continue;
      const detail = Object.fromEntries(Object.entries(e.detail).filter(([k]) => !BULKY.has(k)));
      await tx.audit.append({
        action: `ceremony.${e.step}`, actor: `ceremony:${e.actor}`, subject: e.subject,
        detail: { transcript: verdict.id, seq: e.seq, hash: e.hash, at: e.at, witnesses: e.witnesses, ...detail },
      });
      imported++;
    }
  });
  return { id: verdict.id, imported, skipped: entries.length - imported, head: verdict.head };
}
