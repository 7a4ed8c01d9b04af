/**
 * JRCP v1 framing (NXP's remote card protocol as spoken by Plug & Trust's socket link, simw
 * hostlib smComSocket_fd.c; server side accessManager.c): every message is `MTY NAD LEN_HI
 * LEN_LO payload`. The codec is shared by the emulator's JRCP server and the host's TCP transport.
 */

/** JRCP v1 message types. */
export const JrcpType = {
  /** WAIT_FOR_CARD: the host's first message; the reply carries the ATR (may be empty). */
  WAIT_FOR_CARD: 0x00,
  /** APDU: a C-APDU in, an R-APDU out. */
  APDU: 0x01,
  /** CLOSE: orderly end of the session. */
  CLOSE: 0x03,
  /** Terminal information (answered with the same type). */
  TERMINAL_INFO: 0x04,
  /** Debug / status information (answered with the same type). */
  DEBUG_INFO: 0x07,
  /** Access-manager lock and unlock (JRCP_V1_AM only). */
  LOCK: 0x30,
  UNLOCK: 0x31,
} as const;

/** One JRCP v1 message. */
export interface JrcpMessage {
  mty: number;
  nad: number;
  payload: Uint8Array;
}

/** Header bytes before the payload. */
export const JRCP_HEADER = 4;
/** Largest payload the 16-bit length can carry. */
export const JRCP_MAX_PAYLOAD = 0xffff;

/** Encodes one message; throws RangeError on a payload over 65,535 bytes (a caller bug). */
export function encodeJrcp(mty: number, payload: Uint8Array = new Uint8Array(0), nad = 0): Uint8Array {
  if (payload.length > JRCP_MAX_PAYLOAD) throw new RangeError(`JRCP payload of ${payload.length} bytes is over 65,535`);
  const out = new Uint8Array(JRCP_HEADER + payload.length);
  out.set([mty & 0xff, nad & 0xff, payload.length >> 8, payload.length & 0xff], 0);
  out.set(payload, JRCP_HEADER);
  return out;
}

/**
 * Reassembles messages from a byte stream cut anywhere (TCP): push chunks, take whole messages.
 * Buffers at most one message (header + 65,535 bytes), so a peer cannot make it grow without bound.
 */
export class JrcpDecoder {
  #buf = new Uint8Array(0);

  /** Adds received bytes; returns every message now complete, in order. */
  push(chunk: Uint8Array): JrcpMessage[] {
    const joined = new Uint8Array(this.#buf.length + chunk.length);
    joined.set(this.#buf, 0);
    joined.set(chunk, this.#buf.length);
    const out: JrcpMessage[] = [];
    let at = 0;
    while (joined.length - at >= JRCP_HEADER) {
      const len = (joined[at + 2]! << 8) | joined[at + 3]!;
      if (joined.length - at < JRCP_HEADER + len) break;
      out.push({ mty: joined[at]!, nad: joined[at + 1]!, payload: joined.slice(at + JRCP_HEADER, at + JRCP_HEADER + len) });
      at += JRCP_HEADER + len;
    }
    this.#buf = joined.slice(at);
    return out;
  }

  /** Bytes held for a message not yet complete. */
  get pending(): number {
    return this.#buf.length;
  }
}
