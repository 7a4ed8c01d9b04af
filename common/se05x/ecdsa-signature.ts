/**
 * ECDSA signature forms: the SE05x answers DER (ECDSA-Sig-Value, RFC 3279 §2.2.3), the
 * ATECC608 and Keyline's protocols use raw r‖s. Shared by the emulator and the host driver.
 */
import { childrenOf, readTlv, unsignedIntegerBytes } from '../der/reader.js';

/** r‖s (2 × `half` bytes) of a DER ECDSA-Sig-Value; null when it is not one (or r or s is too long). */
export function derSignatureToRaw(der: Uint8Array, half = 32): Uint8Array | null {
  try {
    const top = readTlv(der, 0);
    if (top.tag !== 0x30 || top.start !== 0 || top.end !== der.length) return null;
    const kids = childrenOf(der, top);
    if (kids.length !== 2) return null;
    const out = new Uint8Array(2 * half);
    for (const [i, k] of kids.entries()) {
      const v = unsignedIntegerBytes(der, k);
      if (v.length > half) return null;
      out.set(v, half * i + half - v.length);
    }
    return out;
  } catch {
    return null;
  }
}
