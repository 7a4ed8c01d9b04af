/**
 * The one DER writer (X.690 §8, §10), written straight into Buffers: the CRLs and OCSP responses
 * of the server (a 100,000-entry CRL is built from these in tens of milliseconds, where a generic
 * ASN.1 object model spends seconds) and the certificate templates and signatures of the
 * secure-element library's atcacert code. Lengths up to 2^32 (a CRL can pass the 64 KiB a
 * certificate never does).
 */

/** Encodes a definite length (X.690 §8.1.3.4-5: short form below 128, else minimal long form). */
export function derLength(len: number): Buffer {
  if (len < 0x80) return Buffer.of(len);
  if (len < 0x100) return Buffer.of(0x81, len);
  if (len < 0x10000) return Buffer.of(0x82, len >> 8, len & 0xff);
  if (len < 0x1000000) return Buffer.of(0x83, len >> 16, (len >> 8) & 0xff, len & 0xff);
  return Buffer.of(0x84, (len >>> 24) & 0xff, (len >> 16) & 0xff, (len >> 8) & 0xff, len & 0xff);
}

/** A TLV of `tag` around the concatenated contents. */
export function tlv(tag: number, ...contents: Uint8Array[]): Buffer {
  return tlvOf(tag, contents);
}

/** A TLV of `tag` around an array of contents (no spread: a CRL holds 100,000 of them). */
export function tlvOf(tag: number, contents: readonly Uint8Array[]): Buffer {
  let n = 0;
  for (const c of contents) n += c.length;
  const len = derLength(n);
  return Buffer.concat([Buffer.of(tag), len, ...contents], 1 + len.length + n);
}

/** SEQUENCE (0x30). */
export const seq = (...contents: Uint8Array[]): Buffer => tlv(0x30, ...contents);

/** The content octets of an OBJECT IDENTIFIER from its dotted form (X.690 §8.19: 40·X + Y, then base-128 arcs). */
export function oidContent(dotted: string): Uint8Array {
  const arcs = dotted.split('.').map(Number);
  const out: number[] = [];
  for (const arc of [arcs[0]! * 40 + arcs[1]!, ...arcs.slice(2)]) {
    const chunk: number[] = [arc & 0x7f];
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift((v & 0x7f) | 0x80);
    out.push(...chunk);
  }
  return Uint8Array.from(out);
}

/** Encodes an OBJECT IDENTIFIER from its dotted form (X.690 §8.19). */
export function oid(dotted: string): Buffer {
  return tlv(0x06, oidContent(dotted));
}

/** A non-negative INTEGER from big-endian bytes: minimal, with 0x00 when the top bit is set (X.690 §8.3.2). */
export function unsignedInteger(value: Uint8Array): Buffer {
  let i = 0;
  while (i < value.length - 1 && value[i] === 0) i++;
  const v = value.subarray(i);
  return v[0]! & 0x80 ? tlv(0x02, Buffer.of(0), v) : tlv(0x02, v);
}

/** A non-negative INTEGER from lowercase or uppercase hex (a certificate serial). */
export function integerFromHex(hex: string): Buffer {
  return unsignedInteger(Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex'));
}

/** A non-negative INTEGER from a safe JavaScript integer (a CRL number). */
export function integerFromNumber(n: number): Buffer {
  return integerFromHex(n.toString(16));
}

/** ENUMERATED with a small non-negative value (CRLReason, OCSPResponseStatus). */
export function enumerated(n: number): Buffer {
  return tlv(0x0a, Buffer.of(n));
}

/** OCTET STRING. */
export const octetString = (b: Uint8Array): Buffer => tlv(0x04, b);

/** BIT STRING with no unused bits. */
export const bitString = (b: Uint8Array): Buffer => tlv(0x03, Buffer.of(0), b);

/** DER NULL. */
export const NULL = Buffer.of(0x05, 0x00);

const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** GeneralizedTime YYYYMMDDHHMMSSZ, whole seconds (X.690 §11.7, RFC 5280 §4.1.2.5.2). */
export function generalizedTime(d: Date): Buffer {
  const s = `${pad(d.getUTCFullYear(), 4)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
  return tlv(0x18, Buffer.from(s, 'latin1'));
}

/** RFC 5280 Time: UTCTime through 2049, GeneralizedTime from 2050 (§5.1.2.4, §5.1.2.6). */
export function x509Time(d: Date): Buffer {
  const y = d.getUTCFullYear();
  if (y >= 2050 || y < 1950) return generalizedTime(d);
  const s = `${pad(y % 100)}${pad(d.getUTCMonth() + 1)}${pad(d.getUTCDate())}${pad(d.getUTCHours())}${pad(d.getUTCMinutes())}${pad(d.getUTCSeconds())}Z`;
  return tlv(0x17, Buffer.from(s, 'latin1'));
}

/** ECDSA-Sig-Value (RFC 5480 §2.2.3 / RFC 3279 §2.2.3) from the raw r‖s a PKCS#11 CKM_ECDSA returns. */
export function ecdsaSigValue(rawRs: Uint8Array): Buffer {
  const half = rawRs.length / 2;
  return seq(unsignedInteger(rawRs.subarray(0, half)), unsignedInteger(rawRs.subarray(half)));
}

/** AlgorithmIdentifier of ecdsa-with-SHA256 / -SHA384, parameters absent (RFC 5758 §3.2). */
export function ecdsaAlgorithm(curve: 'P-256' | 'P-384'): Buffer {
  return seq(oid(curve === 'P-256' ? '1.2.840.10045.4.3.2' : '1.2.840.10045.4.3.3'));
}

/** One Extension: SEQUENCE { extnID, critical DEFAULT FALSE, extnValue OCTET STRING } (RFC 5280 §4.1). */
export function extension(oidDotted: string, value: Uint8Array, critical = false): Buffer {
  return critical ? seq(oid(oidDotted), Buffer.of(0x01, 0x01, 0xff), octetString(value)) : seq(oid(oidDotted), octetString(value));
}
