/**
 * The audit log's hash chain: each record's hash is SHA-256 over the previous record's hash and a
 * canonical encoding of its own fields, so changing, removing or reordering any record breaks
 * every later link (the Certificate Transparency / git idea, without the Merkle tree).
 * Pure functions, in store/ because appending (and so hashing) is the store's job inside the
 * caller's transaction; audit/ verifies the chain with the same functions.
 */
import { createHash } from 'node:crypto';

/** The prev_hash of the first record: 64 zeros. */
export const GENESIS_HASH = '0'.repeat(64);

/** The fields a record's hash covers (everything but the hash itself). */
export interface ChainFields {
  seq: number;
  at: string;
  actor: string;
  action: string;
  subject: string | null;
  /** Canonical JSON text, or null. */
  detail: string | null;
  prevHash: string;
}

/**
 * JSON with object keys sorted at every depth, so the same detail always hashes the same
 * whichever order the caller built it in (RFC 8785's idea; our values are strings, integers and
 * booleans, where JSON.stringify already matches its number and string rules).
 */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[k];
      if (v !== undefined) out[k] = sortKeys(v);
    }
    return out;
  }
  return value;
}

/**
 * The record hash, lowercase hex: SHA-256(prevHash ‖ "\n" ‖ JSON array of the fields). The
 * array form leaves no ambiguity between fields (a subject cannot spill into the action).
 */
export function recordHash(f: ChainFields): string {
  const body = JSON.stringify([f.seq, f.at, f.actor, f.action, f.subject, f.detail]);
  return createHash('sha256').update(f.prevHash).update('\n').update(body).digest('hex');
}

/**
 * The next record of the chain after `last` (the chain's head, or none for the first record),
 * stamped `at`: seq and prevHash follow the head, detail is canonical JSON, and the hash covers it all.
 */
export function chainRecord(e: { actor: string; action: string; subject?: string | null | undefined; detail?: unknown }, last: { seq: number; hash: string } | undefined, at: string): ChainFields & { hash: string } {
  const rec: ChainFields = {
    seq: (last?.seq ?? 0) + 1,
    at,
    actor: e.actor,
    action: e.action,
    subject: e.subject ?? null,
    detail: e.detail === undefined ? null : canonicalJson(e.detail),
    prevHash: last?.hash ?? GENESIS_HASH,
  };
  return { ...rec, hash: recordHash(rec) };
}
