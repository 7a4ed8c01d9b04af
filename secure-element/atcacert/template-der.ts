/**
 * DER with named marks, for building certificate templates: each mark is a byte range that a
 * definition turns into one of atcacert's cert locations (where the serial, dates, key, … sit).
 * Lengths and OIDs come from the one DER writer (common/der/writer.ts); this adds only the marks.
 */
import { KeylineError } from '../../common/errors.js';
import { derLength, oid as oidTlv } from '../../common/der/writer.js';

/** A named byte range inside an encoded value, relative to its start. */
export interface Mark {
  name: string;
  offset: number;
  count: number;
}

/** Encoded DER bytes with the marks placed inside them. */
export interface Der {
  bytes: Uint8Array;
  marks: Mark[];
}

/** Largest TLV content a template may hold: atcacert_def_t keeps template sizes and cert locations in 16 bits. */
const MAX_TEMPLATE_LENGTH = 0xffff;

/** Wraps raw bytes as DER with no marks. */
export function raw(bytes: Uint8Array | number[]): Der {
  return { bytes: Uint8Array.from(bytes), marks: [] };
}

/** Raw bytes marked as one named element (the whole range). */
export function marked(name: string, bytes: Uint8Array): Der {
  return { bytes, marks: [{ name, offset: 0, count: bytes.length }] };
}

/** Concatenates encoded pieces, shifting their marks. */
export function concat(...parts: Der[]): Der {
  const total = parts.reduce((n, p) => n + p.bytes.length, 0);
  const bytes = new Uint8Array(total);
  const marks: Mark[] = [];
  let at = 0;
  for (const p of parts) {
    bytes.set(p.bytes, at);
    for (const m of p.marks) marks.push({ ...m, offset: m.offset + at });
    at += p.bytes.length;
  }
  return { bytes, marks };
}

/** A TLV of `tag` around the concatenated contents; ATCACERT_INVALID past 64 KiB. */
export function tlv(tag: number, ...contents: Der[]): Der {
  const body = concat(...contents);
  const n = body.bytes.length;
  if (n > MAX_TEMPLATE_LENGTH) throw new KeylineError('ATCACERT_INVALID', `DER length ${n} too large for a certificate template (at most ${MAX_TEMPLATE_LENGTH})`);
  return concat(raw([tag]), raw(derLength(n)), body);
}

/** An OBJECT IDENTIFIER from its dotted form (X.690 §8.19), unmarked. */
export function oid(dotted: string): Der {
  return raw(oidTlv(dotted));
}
