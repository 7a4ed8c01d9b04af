/**
 * The ceremony transcript: one JSON line per offline step (root, sign-csr, revoke-issuing, crl),
 * each naming the step, its witnesses and the fingerprints it produced, chained by hash (each
 * entry covers the previous entry's hash, as the audit log does: store/audit-chain.ts) and signed
 * by the root key itself, so only the holder of the root token can extend it and any edit,
 * removal or reordering breaks every later link. It is also the offline side's state of record:
 * the root CRL's number and entries are read back from it by the next step that signs one.
 * `keyline ceremony verify-transcript` checks it alone; `keyline audit import` copies it into the
 * server's audit chain.
 */
import { createHash, createPublicKey, verify } from 'node:crypto';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { KeylineError } from '../../common/errors.js';
import type { Signer } from '../hsm/key-store.js';
import { curveOfSpki, CURVES } from '../hsm/ec-key-info.js';
import { canonicalJson, GENESIS_HASH } from '../store/audit-chain.js';

/** The steps that write to a transcript. */
export type TranscriptStep = 'root' | 'sign-csr' | 'revoke-issuing' | 'crl';

/** One line of the transcript. */
export interface TranscriptEntry {
  /** Format version. */
  v: 1;
  /** 1, 2, 3, ... */
  seq: number;
  at: string;
  step: TranscriptStep;
  /** Who ran the command (the operating-system user). */
  actor: string;
  /** The custodians present, as given with --witness. */
  witnesses: string[];
  /** What the step is about (a certificate serial, a key reference). */
  subject: string;
  detail: Record<string, unknown>;
  /** The previous entry's hash (64 zeros for the first). */
  prev: string;
  /** SHA-256 over the fields above (canonical JSON), lowercase hex. */
  hash: string;
  /** The root key's signature over the hash's 32 bytes, raw r‖s, base64. */
  sig: string;
}

/** What a step contributes; the rest is filled by appendTranscript. */
export type TranscriptDraft = Pick<TranscriptEntry, 'step' | 'actor' | 'witnesses' | 'subject' | 'detail'> & { at?: Date };

/** The hash an entry must carry. */
export function entryHash(e: Omit<TranscriptEntry, 'hash' | 'sig'>): string {
  const fields = { v: e.v, seq: e.seq, at: e.at, step: e.step, actor: e.actor, witnesses: e.witnesses, subject: e.subject, detail: e.detail, prev: e.prev };
  return createHash('sha256').update(canonicalJson(fields)).digest('hex');
}

/**
 * Refuses a step with fewer than `min` distinct witnesses (WITNESSES_REQUIRED): a root key used
 * with nobody watching is what a ceremony exists to prevent.
 */
export function requireWitnesses(names: string[] | undefined, min: number): string[] {
  const distinct = [...new Set((names ?? []).map((n) => n.trim()).filter(Boolean))];
  if (distinct.length < min) {
    throw new KeylineError('WITNESSES_REQUIRED', `--witness: ${distinct.length} distinct witness(es) named, at least ${min} required (repeat --witness NAME)`, { detail: { named: distinct.length, required: min } });
  }
  return distinct;
}

/** Reads a transcript file (JSON lines); [] when it does not exist. */
export function readTranscript(path: string): TranscriptEntry[] {
  if (!existsSync(path)) return [];
  const lines = readFileSync(path, 'utf8').split('\n').filter((l) => l.trim() !== '');
  return lines.map((line, i) => {
    try {
      return JSON.parse(line) as TranscriptEntry;
    } catch (err) {
      throw new KeylineError('TRANSCRIPT_INVALID', `${path}: line ${i + 1} is not JSON`, { cause: err });
    }
  });
}

/** Signs the draft as the next entry after the file's last, appends it and returns it. */
export async function appendTranscript(path: string, draft: TranscriptDraft, rootSigner: Signer): Promise<TranscriptEntry> {
  const entries = readTranscript(path);
  const last = entries.at(-1);
  const body = {
    v: 1 as const, seq: (last?.seq ?? 0) + 1, at: (draft.at ?? new Date()).toISOString(), step: draft.step, actor: draft.actor,
    witnesses: draft.witnesses, subject: draft.subject, detail: draft.detail, prev: last?.hash ?? GENESIS_HASH,
  };
  const hash = entryHash(body);
  const sig = Buffer.from(await rootSigner.sign(Buffer.from(hash, 'hex'))).toString('base64');
  const entry: TranscriptEntry = { ...body, hash, sig };
  writeFileSync(path, JSON.stringify(entry) + '\n', { flag: 'a', mode: 0o644 });
  return entry;
}

/** The verdict on a whole transcript. */
export interface TranscriptVerdict {
  entries: number;
  /** The first entry's hash: the transcript's identity (audit import keys on it). */
  id: string;
  /** The last entry's hash. */
  head: string;
}

/**
 * Checks every link and every signature against the root's public key (DER SPKI); throws
 * TRANSCRIPT_INVALID naming the first entry at fault.
 */
export function verifyTranscript(entries: TranscriptEntry[], rootSpki: Uint8Array): TranscriptVerdict {
  if (entries.length === 0) throw new KeylineError('TRANSCRIPT_INVALID', 'transcript: no entries');
  const curve = curveOfSpki(rootSpki);
  if (!curve) throw new KeylineError('TRANSCRIPT_INVALID', 'transcript: the root key is not on a curve Keyline signs with');
  const key = createPublicKey({ key: Buffer.from(rootSpki), format: 'der', type: 'spki' });
  let prev = GENESIS_HASH;
  entries.forEach((e, i) => {
    const fail = (why: string): never => {
      throw new KeylineError('TRANSCRIPT_INVALID', `transcript entry ${i + 1} (seq ${e.seq}, ${e.step}): ${why}`, { detail: { seq: e.seq, index: i + 1 } });
    };
    if (e.v !== 1) fail(`unknown version ${String(e.v)}`);
    if (e.seq !== i + 1) fail(`seq ${e.seq} where ${i + 1} was expected (an entry removed or reordered)`);
    if (e.prev !== prev) fail('prev does not name the previous entry\'s hash (the chain is broken)');
    if (entryHash(e) !== e.hash) fail('hash does not match the entry (the entry was changed)');
    // The root signs the 32 hash bytes; its Signer hashed them again with the curve's hash.
    const ok = (() => {
      try {
        return verify(CURVES[curve].hash, Buffer.from(e.hash, 'hex'), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(e.sig, 'base64'));
      } catch {
        return false;
      }
    })();
    if (!ok) fail('the root key\'s signature does not verify');
    prev = e.hash;
  });
  return { entries: entries.length, id: entries[0]!.hash, head: prev };
}
