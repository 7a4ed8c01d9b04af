/**
 * The SE05x applet's TLV encoding (simw se05x_tlv.c): one tag byte, a length in one of three
 * forms (`00..7F`, `81 LL`, `82 HH LL`), then the value. Requests and responses are TLVs in order;
 * the same codec serves the emulator (parsing requests, building responses) and the host driver.
 */

/** One TLV as read from a body. */
export interface Se05xTlv {
  tag: number;
  value: Uint8Array;
}

/** The length field of a TLV value of `len` bytes, in the shortest form (as the applet writes it). */
export function tlvLength(len: number): Uint8Array {
  if (len < 0x80) return Uint8Array.of(len);
  if (len <= 0xff) return Uint8Array.of(0x81, len);
  return Uint8Array.of(0x82, len >> 8, len & 0xff);
}

/** One TLV: tag, shortest length form, value. */
export function tlv(tag: number, value: Uint8Array): Uint8Array {
  const len = tlvLength(value.length);
  const out = new Uint8Array(1 + len.length + value.length);
  out[0] = tag;
  out.set(len, 1);
  out.set(value, 1 + len.length);
  return out;
}

/**
 * One TLV with the three-byte length form `82 HH LL` whatever the size: the form the 7.2 applet
 * hashes into an attested read's signed data (simw add_taglength_to_data(..., extendedLength)).
 */
export function tlvExtended(tag: number, value: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + value.length);
  out.set([tag, 0x82, value.length >> 8, value.length & 0xff], 0);
  out.set(value, 4);
  return out;
}

/** A TLV holding one byte. */
export const tlvU8 = (tag: number, v: number): Uint8Array => tlv(tag, Uint8Array.of(v & 0xff));
/** A TLV holding a big-endian 16-bit value. */
export const tlvU16 = (tag: number, v: number): Uint8Array => tlv(tag, Uint8Array.of((v >> 8) & 0xff, v & 0xff));
/** A TLV holding a big-endian 32-bit value (object ids). */
export const tlvU32 = (tag: number, v: number): Uint8Array => tlv(tag, u32(v));

/** A 32-bit value as 4 big-endian bytes. */
export function u32(v: number): Uint8Array {
  return Uint8Array.of((v >>> 24) & 0xff, (v >>> 16) & 0xff, (v >>> 8) & 0xff, v & 0xff);
}

/** Big-endian bytes (at most 4) as an unsigned number. */
export function beNumber(b: Uint8Array): number {
  let n = 0;
  for (const x of b) n = n * 256 + x;
  return n;
}

/** Concatenates byte arrays. */
export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

/**
 * Reads every TLV of a body; null when the body is not a clean sequence of TLVs (a length past
 * the end, a length form other than the three above). Lengths in a longer form than needed are
 * accepted, as the applet's own parser accepts them.
 */
export function parseTlvs(body: Uint8Array): Se05xTlv[] | null {
  const out: Se05xTlv[] = [];
  let at = 0;
  while (at < body.length) {
    if (at + 2 > body.length) return null;
    const tag = body[at]!;
    const l0 = body[at + 1]!;
    let len: number;
    let head: number;
    if (l0 < 0x80) {
      len = l0;
      head = 2;
    } else if (l0 === 0x81) {
      if (at + 3 > body.length) return null;
      len = body[at + 2]!;
      head = 3;
    } else if (l0 === 0x82) {
      if (at + 4 > body.length) return null;
      len = (body[at + 2]! << 8) | body[at + 3]!;
      head = 4;
    } else {
      return null;
    }
    if (at + head + len > body.length) return null;
    out.push({ tag, value: body.subarray(at + head, at + head + len) });
    at += head + len;
  }
  return out;
}

/** The value of the first TLV with `tag`, if any. */
export function findTlv(tlvs: readonly Se05xTlv[], tag: number): Uint8Array | undefined {
  return tlvs.find((t) => t.tag === tag)?.value;
}
