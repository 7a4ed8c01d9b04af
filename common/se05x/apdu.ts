/**
 * ISO 7816-4 command and response APDUs (ISO/IEC 7816-4:2013 §5.1, §5.2): the four cases in
 * their short and extended forms, parsed strictly by length as a card does, and built the ways
 * NXP's middleware builds them (simw fsl_sss_se05x_apis.c sss_se05x_channel_txnRaw, se05x_tlv.c):
 * short Lc + body with no Le, extended `00 HH LL` + body (with or without `00 00` Le), and a lone
 * `00` Le for a command with no body.
 */

/** A parsed command APDU. */
export interface CommandApdu {
  cla: number;
  ins: number;
  p1: number;
  p2: number;
  data: Uint8Array;
  /** Ne, the most response bytes the host takes (ISO: Le 00 = 256 short, 0000 = 65,536 extended); undefined when no Le field. */
  ne: number | undefined;
  /** True when Lc and/or Le used the extended (3-byte / 2-byte) forms. */
  extended: boolean;
  /** ISO 7816-4 case: 1 no data/no Le, 2 Le only, 3 data only, 4 data and Le. */
  case: 1 | 2 | 3 | 4;
  /** The command as sent, without its Le field (what the 7.2 applet hashes into an attested read). */
  withoutLe: Uint8Array;
}

/** Result of parsing: the APDU, or the status word a card answers to a malformed one (6700). */
export type ParsedApdu = { ok: true; apdu: CommandApdu } | { ok: false; sw: number };

const WRONG_LENGTH = 0x6700;

/** Parses a command APDU by its length (§5.1 "decoding conventions"); never throws. */
export function parseCommandApdu(b: Uint8Array): ParsedApdu {
  const n = b.length;
  if (n < 4) return { ok: false, sw: WRONG_LENGTH };
  const [cla, ins, p1, p2] = [b[0]!, b[1]!, b[2]!, b[3]!];
  const make = (data: Uint8Array, ne: number | undefined, extended: boolean, c: CommandApdu['case'], bodyEnd: number): ParsedApdu => ({
    ok: true,
    apdu: { cla, ins, p1, p2, data, ne, extended, case: c, withoutLe: b.subarray(0, bodyEnd) },
  });
  if (n === 4) return make(new Uint8Array(0), undefined, false, 1, 4);
  const b4 = b[4]!;
  if (n === 5) return make(new Uint8Array(0), b4 === 0 ? 256 : b4, false, 2, 4);
  if (b4 !== 0) {
    // Short Lc: body of b4 bytes, then nothing (case 3S) or one Le byte (case 4S).
    if (n === 5 + b4) return make(b.subarray(5, 5 + b4), undefined, false, 3, n);
    if (n === 6 + b4) return make(b.subarray(5, 5 + b4), b[n - 1] === 0 ? 256 : b[n - 1], false, 4, n - 1);
    return { ok: false, sw: WRONG_LENGTH };
  }
  // b4 = 00 and more bytes: extended forms.
  if (n === 7) {
    const le = (b[5]! << 8) | b[6]!;
    return make(new Uint8Array(0), le === 0 ? 65536 : le, true, 2, 4);
  }
  if (n < 8) return { ok: false, sw: WRONG_LENGTH };
  const lc = (b[5]! << 8) | b[6]!;
  if (lc === 0) return { ok: false, sw: WRONG_LENGTH };
  if (n === 7 + lc) return make(b.subarray(7, 7 + lc), undefined, true, 3, n);
  if (n === 9 + lc) {
    const le = (b[n - 2]! << 8) | b[n - 1]!;
    return make(b.subarray(7, 7 + lc), le === 0 ? 65536 : le, true, 4, n - 2);
  }
  return { ok: false, sw: WRONG_LENGTH };
}

/** How a command APDU is to be encoded. */
export interface ApduForm {
  /** Append Le (00 short, 00 00 extended): the host expects response data. Default false. */
  le?: boolean;
  /** Use the extended forms even for a body under 256 bytes (ReadObject, ReadIDList). Default: only when needed. */
  extended?: boolean;
}

/** Builds a command APDU; a body over 255 bytes always goes extended. */
export function buildCommandApdu(header: readonly [number, number, number, number], data: Uint8Array = new Uint8Array(0), form: ApduForm = {}): Uint8Array {
  const extended = form.extended === true || data.length > 255;
  if (data.length > 65535) throw new RangeError(`APDU body of ${data.length} bytes is over the extended maximum of 65,535`);
  const parts: number[] = [...header];
  if (data.length > 0) {
    if (extended) parts.push(0x00, data.length >> 8, data.length & 0xff);
    else parts.push(data.length);
  }
  const out = new Uint8Array(parts.length + data.length + (form.le ? (extended ? (data.length > 0 ? 2 : 3) : 1) : 0));
  out.set(parts, 0);
  out.set(data, parts.length);
  // Le: extended with a body is 2 bytes; extended without a body is 00 00 00 (case 2E).
  return out;
}

/** A response APDU: data and status word. */
export interface ResponseApdu {
  data: Uint8Array;
  sw: number;
}

/** Splits a response APDU into data and SW1-SW2; null when shorter than 2 bytes. */
export function parseResponseApdu(b: Uint8Array): ResponseApdu | null {
  if (b.length < 2) return null;
  return { data: b.subarray(0, b.length - 2), sw: (b[b.length - 2]! << 8) | b[b.length - 1]! };
}

/** A response APDU from data and a status word. */
export function buildResponseApdu(data: Uint8Array, sw: number): Uint8Array {
  const out = new Uint8Array(data.length + 2);
  out.set(data, 0);
  out[data.length] = (sw >> 8) & 0xff;
  out[data.length + 1] = sw & 0xff;
  return out;
}
