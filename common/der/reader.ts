/**
 * The one DER reader, shared by the server (OCSP requests from anyone on the network, CSRs) and
 * the secure-element library (certificates it compresses and definitions it derives): bounded
 * definite lengths only, no recursion, every read checked against its parent's end (X.690 §10.1).
 * Strict where BER and DER differ on what reaches a comparison: lengths in their shortest form
 * (X.690 §10.1), INTEGERs and OID arcs without padding octets (§8.3.2, §8.19.2), so one value has
 * exactly one accepted encoding. There is no lenient mode: every input read here must be DER
 * (certificates by RFC 5280 §4.1, OCSP by RFC 6960 §4), and the atcacert code that rebuilds
 * certificates byte for byte needs nothing looser, since a BER input could not round-trip anyway.
 * Every refusal is MALFORMED_DER naming the offset.
 */
import { KeylineError } from '../errors.js';

/** One TLV header inside a buffer. */
export interface Tlv {
  tag: number;
  /** Offset of the tag byte. */
  start: number;
  /** Offset of the first content byte. */
  value: number;
  /** Offset just past the content. */
  end: number;
}

function malformed(offset: number, why: string): never {
  throw new KeylineError('MALFORMED_DER', `malformed DER at offset ${offset}: ${why}`);
}

/** Reads the TLV at `offset`, which must end at or before `limit` (the buffer's end by default). */
export function readTlv(buf: Uint8Array, offset: number, limit = buf.length): Tlv {
  if (offset + 2 > limit) malformed(offset, 'truncated header');
  const tag = buf[offset]!;
  // Multi-byte tags (low five bits all set) never occur in the structures read here.
  if ((tag & 0x1f) === 0x1f) malformed(offset, `high tag number form 0x${tag.toString(16)}`);
  let len = buf[offset + 1]!;
  let at = offset + 2;
  if (len & 0x80) {
    const n = len & 0x7f;
    // 0x80 is BER's indefinite form, refused by DER (X.690 §10.1).
    if (n === 0 || n > 3 || at + n > limit) malformed(offset, `length form 0x${len.toString(16)}`);
    // X.690 §10.1: the minimum number of length octets; a leading zero octet or a long form
    // for a length below 128 is BER, and would give one value several encodings.
    if (buf[at] === 0) malformed(offset, 'length with a leading zero octet');
    len = 0;
    for (let i = 0; i < n; i++) len = len * 256 + buf[at + i]!;
    if (len < 0x80) malformed(offset, `long-form length for ${len} (short form required)`);
    at += n;
  }
  if (at + len > limit) malformed(offset, `length ${len} runs past ${limit}`);
  return { tag, start: offset, value: at, end: at + len };
}

/** Reads the TLV at `offset` and checks its tag. */
export function expectTlv(buf: Uint8Array, offset: number, limit: number, tag: number, what: string): Tlv {
  const t = readTlv(buf, offset, limit);
  if (t.tag !== tag) malformed(offset, `${what}: expected tag 0x${tag.toString(16)}, found 0x${t.tag.toString(16)}`);
  return t;
}

/** The children of a constructed TLV, in order. */
export function childrenOf(buf: Uint8Array, parent: Tlv): Tlv[] {
  const out: Tlv[] = [];
  for (let at = parent.value; at < parent.end; ) {
    const t = readTlv(buf, at, parent.end);
    out.push(t);
    at = t.end;
  }
  return out;
}

/** The dotted form of an OBJECT IDENTIFIER (X.690 §8.19); padded or truncated arcs are refused. */
export function oidText(buf: Uint8Array, t: Tlv): string {
  if (t.tag !== 0x06 || t.end === t.value) malformed(t.start, 'expected an OBJECT IDENTIFIER');
  // §8.19.2: each arc in the fewest octets (no leading 0x80), the last octet of each arc without bit 8.
  if (buf[t.end - 1]! & 0x80) malformed(t.start, 'OBJECT IDENTIFIER: last arc truncated');
  const subids: number[] = [];
  let v = 0;
  for (let i = t.value; i < t.end; i++) {
    if (buf[i] === 0x80 && (i === t.value || !(buf[i - 1]! & 0x80))) malformed(t.start, 'OBJECT IDENTIFIER: arc with a leading 0x80 octet');
    v = v * 128 + (buf[i]! & 0x7f);
    if (!(buf[i]! & 0x80)) {
      subids.push(v);
      v = 0;
    }
  }
  // §8.19.4: the first subidentifier packs two arcs, 40·X + Y; X is 2 for every value from 80 on
  // (2.999 is the two-octet 88 37), so it is decoded like any other subidentifier first.
  const first = subids.shift()!;
  const top = Math.min(2, Math.floor(first / 40));
  return [top, first - top * 40, ...subids].join('.');
}

/**
 * The value octets of a non-negative INTEGER without the sign octet (a 0x00 kept only before a
 * high bit is dropped). The encoding must be minimal (X.690 §8.3.2: the first nine bits are
 * never all zero or all one), so a value has one encoding only.
 */
export function unsignedIntegerBytes(buf: Uint8Array, t: Tlv): Uint8Array {
  if (t.tag !== 0x02 || t.end === t.value) malformed(t.start, 'expected an INTEGER');
  if (buf[t.value]! & 0x80) malformed(t.start, 'negative INTEGER');
  if (t.end - t.value > 1 && buf[t.value] === 0 && !(buf[t.value + 1]! & 0x80)) malformed(t.start, 'INTEGER with a redundant leading 00 octet');
  return buf.subarray(buf[t.value] === 0 && t.end - t.value > 1 ? t.value + 1 : t.value, t.end);
}

/** Lowercase hex of a non-negative INTEGER's value without leading zero digits (as the revocation table stores serials). */
export function integerHex(buf: Uint8Array, t: Tlv): string {
  return Buffer.from(unsignedIntegerBytes(buf, t)).toString('hex').replace(/^0+(?=.)/, '');
}
