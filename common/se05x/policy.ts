/**
 * Secure-object policies (simw fsl_sss_se05x_policy.c; reference/se050.md §5): the value of tag
 * 0x11 is a list of entries `LEN authId(4) AR(4) [extension]`, LEN counting the bytes after it.
 * Set at creation only, immutable, echoed in attested attributes.
 */
import { ANY_SESSION } from './applet-constants.js';
import { concatBytes, u32 } from './tlv.js';

/** One policy entry: the access rules `ar` granted to sessions of auth object `authId`. */
export interface PolicyEntry {
  authId: number;
  ar: number;
  /** Extension bytes after the 8 (PCR / min-tag-length rules): kept, not interpreted. */
  ext?: Uint8Array;
}

/** Parses a policy value; null when malformed (an entry shorter than 8 bytes or running past the end). */
export function parsePolicy(value: Uint8Array): PolicyEntry[] | null {
  const out: PolicyEntry[] = [];
  let at = 0;
  while (at < value.length) {
    const len = value[at]!;
    if (len < 8 || at + 1 + len > value.length) return null;
    const v = value.subarray(at + 1, at + 1 + len);
    const authId = ((v[0]! << 24) | (v[1]! << 16) | (v[2]! << 8) | v[3]!) >>> 0;
    const ar = ((v[4]! << 24) | (v[5]! << 16) | (v[6]! << 8) | v[7]!) >>> 0;
    out.push(len > 8 ? { authId, ar, ext: v.slice(8) } : { authId, ar });
    at += 1 + len;
  }
  return out;
}

/** Encodes policy entries as the value of tag 0x11. */
export function encodePolicy(entries: readonly PolicyEntry[]): Uint8Array {
  return concatBytes(...entries.map((e) => concatBytes(Uint8Array.of(8 + (e.ext?.length ?? 0)), u32(e.authId), u32(e.ar), e.ext ?? new Uint8Array(0))));
}

/** A one-entry policy granting `ar` to any session. */
export function anySessionPolicy(ar: number): PolicyEntry[] {
  return [{ authId: ANY_SESSION, ar: ar >>> 0 }];
}
