/**
 * The audit chain's standing for the console (issue 18): the last verified head, kept per
 * process. A full walk (verifyAuditChain) reads every record; after one, each status check walks
 * only the records appended since the head it verified, from that head's hash, so a page load
 * costs the new records, not the whole log. A full walk can be asked for again at any time (it
 * re-detects tampering with old records, which an incremental check cannot); one runs at a time.
 */
import type { Store } from '../store/store.js';
import { checkLink, verifyAuditChain } from './audit-log.js';

/** What the console shows. */
export interface AuditStatus {
  ok: boolean;
  /** Records verified in all. */
  count: number;
  /** The last verified record. */
  head: { seq: number; hash: string } | null;
  verifiedAt: string;
  /** When the chain was last walked from its first record. */
  fullWalkAt: string;
  /** The first broken link, when ok is false. */
  broken?: { seq: number; reason: string; expected: string; found: string };
}

/** Builds the monitor. */
export function createAuditMonitor({ store, now = () => new Date() }: { store: Store; now?: () => Date }) {
  let last: AuditStatus | null = null;
  let running: Promise<AuditStatus> | null = null;
  const once = (fn: () => Promise<AuditStatus>) => (running ??= fn().finally(() => (running = null)));

  async function full(): Promise<AuditStatus> {
    const v = await verifyAuditChain(store);
    const at = now().toISOString();
    last = v.ok
      ? { ok: true, count: v.count, head: v.count ? { seq: v.count, hash: v.lastHash } : null, verifiedAt: at, fullWalkAt: at }
      : { ok: false, count: v.count, head: last?.head ?? null, verifiedAt: at, fullWalkAt: at, broken: { seq: v.seq, reason: v.reason, expected: v.expected, found: v.found } };
    return last;
  }

  async function incremental(from: AuditStatus): Promise<AuditStatus> {
    let { count, head } = from;
    for (;;) {
      const page = await store.transaction((tx) => tx.audit.list({ afterSeq: head?.seq ?? 0, limit: 1000 }), { readOnly: true });
      for (const r of page) {
        const broken = checkLink(r, (head?.seq ?? 0) + 1, head?.hash ?? '');
        if (broken) return (last = { ...from, ok: false, count, head, verifiedAt: now().toISOString(), broken: { seq: r.seq, ...broken } });
        head = { seq: r.seq, hash: r.hash };
        count++;
      }
      if (page.length < 1000) return (last = { ...from, count, head, verifiedAt: now().toISOString() });
    }
  }

  return {
    /** Verifies what was appended since the last verified head (a full walk the first time). */
    status(): Promise<AuditStatus> {
      return once(() => (last && last.ok && last.head ? incremental(last) : full()));
    },
    /** Walks the whole chain again. */
    verifyAll(): Promise<AuditStatus> {
      return once(full);
    },
  };
}

/** The monitor. */
export type AuditMonitor = ReturnType<typeof createAuditMonitor>;
