/**
 * Reading side of the audit log: walks the chain from the first record and reports the first
 * broken link. Appending lives in the store (tx.audit.append) so it shares the caller's transaction.
 */
import type { AuditRecord, Store } from '../store/store.js';
import { GENESIS_HASH, recordHash } from '../store/audit-chain.js';

/** The verdict of a chain walk. */
export type AuditVerdict =
  | { ok: true; count: number; lastHash: string }
  | { ok: false; seq: number; reason: string; expected: string; found: string; count: number };

const PAGE = 1000;

/**
 * Verifies every link: seq numbers consecutive from 1, each prev_hash equal to the previous
 * record's hash, each hash equal to the recomputed one. Reads in pages of read-only transactions,
 * which is sound because the log only grows. Truncation of the newest records is only detectable
 * against an anchor kept elsewhere (compare `lastHash` with one you recorded).
 */
export async function verifyAuditChain(store: Store): Promise<AuditVerdict> {
  let prevHash = GENESIS_HASH;
  let expectedSeq = 1;
  let count = 0;
  for (;;) {
    const page: AuditRecord[] = await store.transaction((tx) => tx.audit.list({ afterSeq: expectedSeq - 1, limit: PAGE }), { readOnly: true });
    for (const r of page) {
      const broken = checkLink(r, expectedSeq, prevHash);
      if (broken) return { ok: false, seq: r.seq, count, ...broken };
      prevHash = r.hash;
      expectedSeq++;
      count++;
    }
    if (page.length < PAGE) return { ok: true, count, lastHash: prevHash };
  }
}

/** Checks one record against its expected position; undefined when it links correctly. */
export function checkLink(r: AuditRecord, expectedSeq: number, prevHash: string): { reason: string; expected: string; found: string } | undefined {
  // A gap means a deleted record (or one inserted with a forged seq).
  if (r.seq !== expectedSeq) return { reason: 'sequence gap', expected: String(expectedSeq), found: String(r.seq) };
  if (r.prevHash !== prevHash) return { reason: 'prev_hash does not match the previous record', expected: prevHash, found: r.prevHash };
  const hash = recordHash(r);
  if (r.hash !== hash) return { reason: 'hash does not match the record', expected: hash, found: r.hash };
  return undefined;
}
