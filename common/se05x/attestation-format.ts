/**
 * The attested ReadObject formats (simw se05x_ReadWithAttestation.c, ex_sss_ecc_attest.c,
 * fsl_sss_se05x_mw.c; reference/se050.md §6), shared by the emulator that signs them and the
 * host that verifies them:
 *
 * - applet 3.x: response TLVs `41` data, `42` attributes, `43` timestamp (12), `44` freshness
 *   echo (16), `45` chip id (18), `46` DER signature; signed data = data ‖ attributes ‖ timestamp
 *   ‖ freshness ‖ chip id.
 * - applet 7.2: `41` data, `42` chip id, `43` attributes, `44` size (2), `4F` timestamp (12),
 *   `52` signature; signed data = SHA-256(C-APDU without Le) ‖ T41 ‖ T42 ‖ T43 ‖ T44 ‖ T4F, each
 *   T in the `tag 82 HH LL value` form.
 *
 * The signature is ECDSA with SHA-256 over the signed data (algorithm 0x21) by the attestation key.
 */
import { createHash } from 'node:crypto';
import type { AppletVersionName } from './applet-constants.js';
import { Tag } from './applet-constants.js';
import { encodePolicy, parsePolicy, type PolicyEntry } from './policy.js';
import { beNumber, concatBytes, findTlv, parseTlvs, tlvExtended, u32 } from './tlv.js';

/** The attributes of a secure object as an attested read reports them. */
export interface ObjectAttributes {
  id: number;
  type: number;
  /** True for an authentication object (byte 01 no / 02 yes). */
  authObject: boolean;
  attempts: number;
  owner: number;
  maxAttempts: number;
  policy: PolicyEntry[];
  origin: number;
  /** 7.2 only: the object's version. */
  version?: number;
}

/** Encodes attributes in the applet's layout (7.2 appends the 4-byte version). */
export function encodeAttributes(a: ObjectAttributes, applet: AppletVersionName): Uint8Array {
  const head = new Uint8Array(14);
  head.set(u32(a.id), 0);
  head[4] = a.type;
  head[5] = a.authObject ? 0x02 : 0x01;
  head.set([a.attempts >> 8, a.attempts & 0xff], 6);
  head.set(u32(a.owner), 8);
  head.set([a.maxAttempts >> 8, a.maxAttempts & 0xff], 12);
  const tail = applet === '7.2' ? concatBytes(Uint8Array.of(a.origin), u32(a.version ?? 0)) : Uint8Array.of(a.origin);
  return concatBytes(head, encodePolicy(a.policy), tail);
}

/** Parses attributes; null when they do not have the layout. */
export function parseAttributes(b: Uint8Array, applet: AppletVersionName): ObjectAttributes | null {
  const tailLen = applet === '7.2' ? 5 : 1;
  if (b.length < 14 + tailLen) return null;
  const policy = parsePolicy(b.subarray(14, b.length - tailLen));
  if (!policy) return null;
  const tail = b.subarray(b.length - tailLen);
  return {
    id: beNumber(b.subarray(0, 4)),
    type: b[4]!,
    authObject: b[5] === 0x02,
    attempts: beNumber(b.subarray(6, 8)),
    owner: beNumber(b.subarray(8, 12)),
    maxAttempts: beNumber(b.subarray(12, 14)),
    policy,
    origin: tail[0]!,
    ...(applet === '7.2' ? { version: beNumber(tail.subarray(1, 5)) } : {}),
  };
}

/** The fields of an attested read, raw. */
export interface AttestedRead {
  applet: AppletVersionName;
  data: Uint8Array;
  attributes: Uint8Array;
  timestamp: Uint8Array;
  chipId: Uint8Array;
  signature: Uint8Array;
  /** 3.x: the freshness the chip echoed. */
  freshness?: Uint8Array;
  /** 7.2: the size field (byte length of the data). */
  size?: Uint8Array;
}

/** The bytes the attestation key signs (SHA-256 then ECDSA). `command` is the C-APDU without Le (7.2 only). */
export function attestedSignedData(r: Omit<AttestedRead, 'signature'>, command?: Uint8Array): Uint8Array {
  if (r.applet === '7.2') {
    if (!command || !r.size) throw new RangeError('a 7.2 attested read is signed over its command and size');
    return concatBytes(
      createHash('sha256').update(command).digest(),
      tlvExtended(Tag.T1, r.data),
      tlvExtended(Tag.T2, r.chipId),
      tlvExtended(Tag.T3, r.attributes),
      tlvExtended(Tag.T4, r.size),
      tlvExtended(Tag.TIMESTAMP, r.timestamp),
    );
  }
  if (!r.freshness) throw new RangeError('a 3.x attested read is signed over its freshness');
  return concatBytes(r.data, r.attributes, r.timestamp, r.freshness, r.chipId);
}

/** Parses an attested read's response body (without SW); null when a field is missing. */
export function parseAttestedRead(body: Uint8Array, applet: AppletVersionName): AttestedRead | null {
  const tlvs = parseTlvs(body);
  if (!tlvs) return null;
  const get = (tag: number) => findTlv(tlvs, tag);
  if (applet === '7.2') {
    const [data, chipId, attributes, size, timestamp, signature] = [get(Tag.T1), get(Tag.T2), get(Tag.T3), get(Tag.T4), get(Tag.TIMESTAMP), get(Tag.SIGNATURE)];
    if (!data || !chipId || !attributes || !size || !timestamp || !signature) return null;
    return { applet, data, chipId, attributes, size, timestamp, signature };
  }
  const [data, attributes, timestamp, freshness, chipId, signature] = [get(Tag.T1), get(Tag.T2), get(Tag.T3), get(Tag.T4), get(Tag.T5), get(Tag.T6)];
  if (!data || !attributes || !timestamp || !freshness || !chipId || !signature) return null;
  return { applet, data, attributes, timestamp, freshness, chipId, signature };
}
