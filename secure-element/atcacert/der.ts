/**
 * The few DER pieces compressed certificates need (X.690 §8 and §10): definite lengths, TLV
 * building with named marks (to learn element offsets while a template is built), a TLV reader,
 * and the ECDSA-Sig-Value of RFC 5480 §2.2.3 carried in a certificate's signatureValue.
 */
import { KeylineError } from '../../common/errors.js';
import { oidContent } from '../../common/der-oid.js';

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

/** Encodes a definite length (X.690 §8.1.3: short form below 128, else long form). */
export function encodeLength(len: number): Uint8Array {
  if (len < 0x80) return Uint8Array.of(len);
  if (len < 0x100) return Uint8Array.of(0x81, len);
  if (len < 0x10000) return Uint8Array.of(0x82, len >> 8, len & 0xff);
  throw new KeylineError('ATCACERT_INVALID', `DER length ${len} too large for a certificate`);
}

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

/** A TLV of `tag` around the concatenated contents. */
export function tlv(tag: number, ...contents: Der[]): Der {
  const body = concat(...contents);
  return concat(raw([tag]), raw(encodeLength(body.bytes.length)), body);
}

/** Encodes an OBJECT IDENTIFIER from its dotted form (X.690 §8.19). */
export function oid(dotted: string): Der {
  return tlv(0x06, raw(oidContent(dotted)));
}

/** One parsed TLV header. */
export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  valueOffset: number;
  length: number;
  /** Offset just past the content. */
  end: number;
}

/** Reads the TLV at `offset`, refusing indefinite or out-of-bounds lengths. */
export function readTlv(buf: Uint8Array, offset: number, limit = buf.length): Tlv {
  const bad = (why: string): never => {
    throw new KeylineError('ATCACERT_INVALID', `malformed DER at offset ${offset}: ${why}`);
  };
  if (offset + 2 > limit) bad('truncated header');
  const tag = buf[offset]!;
  let len = buf[offset + 1]!;
  let at = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    if (n === 0 || n > 3 || at + n > limit) bad(`length form 0x${len.toString(16)}`);
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[at + i]!;
    at += n;
  }
  if (at + len > limit) bad(`length ${len} runs past ${limit}`);
  return { tag, start: offset, valueOffset: at, length: len, end: at + len };
}

/** The child TLVs of a constructed value. */
export function children(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.valueOffset; at < parent.end; ) {
    const t = readTlv(buf, at, parent.end);
    out.push(t);
    at = t.end;
  }
  return out;
}

/** DER INTEGER content for an unsigned big-endian value: minimal, with 0x00 when the top bit is set. */
export function unsignedIntegerContent(value: Uint8Array): Uint8Array {
  let i = 0;
  while (i < value.length - 1 && value[i] === 0) i++;
  const v = value.subarray(i);
  if (v[0]! & 0x80) {
    const out = new Uint8Array(v.length + 1);
    out.set(v, 1);
    return out;
  }
  return v.slice();
}

/** The signatureValue BIT STRING (tag included) holding ECDSA-Sig-Value { r, s } from raw r‖s. */
export function encodeEcdsaSigBitString(rawSig: Uint8Array): Uint8Array {
  if (rawSig.length !== 64) throw new KeylineError('ATCACERT_INVALID', `signature must be 64 bytes r‖s, got ${rawSig.length}`);
  const r = unsignedIntegerContent(rawSig.subarray(0, 32));
  const s = unsignedIntegerContent(rawSig.subarray(32, 64));
  // Lengths stay below 128 for P-256 (at most 33-byte integers), so every header is 2 bytes.
  const seqLen = 4 + r.length + s.length;
  const out = new Uint8Array(5 + seqLen);
  out[0] = 0x03;
  out[1] = seqLen + 3;
  out[2] = 0x00; // no unused bits
  out[3] = 0x30;
  out[4] = seqLen;
  out[5] = 0x02;
  out[6] = r.length;
  out.set(r, 7);
  out[7 + r.length] = 0x02;
  out[8 + r.length] = s.length;
  out.set(s, 9 + r.length);
  return out;
}

/** Raw r‖s from a signatureValue BIT STRING (tag included) at `offset`; strict DER. */
export function decodeEcdsaSigBitString(buf: Uint8Array, offset: number): Uint8Array {
  const bits = readTlv(buf, offset);
  const fail = (why: string): never => {
    throw new KeylineError('ATCACERT_INVALID', `signatureValue at offset ${offset}: ${why}`);
  };
  if (bits.tag !== 0x03 || bits.length < 1 || buf[bits.valueOffset] !== 0) fail('not a BIT STRING with 0 unused bits');
  const seq = readTlv(buf, bits.valueOffset + 1, bits.end);
  if (seq.tag !== 0x30 || seq.end !== bits.end) fail('not one ECDSA-Sig-Value SEQUENCE');
  const ints = children(buf, seq);
  if (ints.length !== 2) fail(`expected 2 INTEGERs, found ${ints.length}`);
  const out = new Uint8Array(64);
  ints.forEach((t, i) => {
    let v = buf.subarray(t.valueOffset, t.end);
    if (t.tag !== 0x02 || v.length === 0 || v[0]! & 0x80) fail(`${i ? 's' : 'r'} is not a positive INTEGER`);
    if (v.length > 1 && v[0] === 0 && !(v[1]! & 0x80)) fail(`${i ? 's' : 'r'} is not minimally encoded`);
    if (v[0] === 0) v = v.subarray(1);
    if (v.length > 32) fail(`${i ? 's' : 'r'} longer than 32 bytes`);
    out.set(v, i * 32 + 32 - v.length);
  });
  return out;
}
