/**
 * Microchip's ASCII kit protocol, framing only (cryptoauthlib lib/hal/kit_protocol.c and the kit
 * firmware's parser app/kit_host/ascii_kit_host.c): one text line per message, `SS(HEX)\n` replies,
 * and the cut of lines into 64-byte USB HID reports. No socket or USB code here.
 */
import { KeylineError } from '../../common/errors.js';

/** The longest line either side accepts (a 155-byte packet is 310 hex digits; room to spare). */
export const KIT_LINE_MAX = 1024;

/** Kit-level status bytes, as the kit firmware answers them (cryptoauthlib ATCA_STATUS values). */
export const KitStatus = {
  OK: 0x00,
  WAKE_FAILED: 0xd0,
  FUNC_FAIL: 0xe0,
  BAD_PARAM: 0xe2,
  INVALID_SIZE: 0xe4,
  RX_NO_RESPONSE: 0xe7,
  COMM_FAIL: 0xf0,
  NO_DEVICES: 0xf9,
} as const;

/** A parsed `SS(HEX)` reply. */
export interface KitReply {
  status: number;
  data: Uint8Array;
}

/** Formats a reply line: two hex digits of kit status, then the data in upper-case hex in brackets. */
export function formatKitReply(status: number, data?: Uint8Array): string {
  return `${hex2(status)}(${data ? Buffer.from(data).toString('hex').toUpperCase() : ''})\n`;
}

/** Parses a reply line (with or without its newline); throws KIT_PROTOCOL_ERROR on anything else. */
export function parseKitReply(line: string): KitReply {
  const m = /^([0-9A-Fa-f]{2})\(([0-9A-Fa-f]*)\)\s*$/.exec(line);
  if (!m || m[2]!.length % 2 !== 0) throw new KeylineError('KIT_PROTOCOL_ERROR', `malformed kit reply '${clip(line)}'`);
  return { status: parseInt(m[1]!, 16), data: Uint8Array.from(Buffer.from(m[2]!, 'hex')) };
}

/** A device the kit reports for `board:device(NN)`. */
export interface KitDeviceLine {
  /** Device type token, e.g. `ECC608` (hosts compare its first four characters). */
  type: string;
  /** Bus token: `TWI`, `SWI` or `SPI`. */
  iface: string;
  /** The address to select it by: the hex digits in the first bracket. */
  address: number;
}

/**
 * Parses a `board:device` reply such as `ECC608 TWI 00(C0)` (kit host) or `ECC608A TWI C0(C0)`
 * (older kit firmware); returns null for an error reply such as `E0()`.
 */
export function parseDeviceLine(line: string): KitDeviceLine | null {
  const text = line.trim();
  const [type, iface] = text.split(' ');
  const m = /\(([0-9A-Fa-f]{1,4})\)/.exec(text);
  if (!type || !iface || !m) return null;
  return { type, iface, address: parseInt(m[1]!, 16) };
}

/** Formats the kit's answer to `board:device(NN)`. */
export function formatDeviceLine(d: KitDeviceLine): string {
  return `${d.type} ${d.iface} 00(${hex2(d.address)})\n`;
}

/** Host-to-kit request lines; `target` is the first letter of the device type (`E` for ECC). */
export const KitRequest = {
  device: (index: number) => `board:device(${hex2(index)})\n`,
  select: (address: number, target = 'E') => `${target}:physical:select(${hex2(address)})\n`,
  wake: (target = 'E') => `${target}:w()\n`,
  idle: (target = 'E') => `${target}:i()\n`,
  sleep: (target = 'E') => `${target}:s()\n`,
  talk: (packet: Uint8Array, target = 'E') => `${target}:t(${Buffer.from(packet).toString('hex').toUpperCase()})\n`,
};

/** Something that sends one request line and resolves with the reply line: a TCP socket, a HID kit. */
export interface LineLink {
  /** Sends `line` (ending in `\n`) and resolves with the next reply line, without its newline. */
  request(line: string, timeoutMs: number): Promise<string>;
  close(): Promise<void>;
}

/** Bytes per HID report on Microchip's kits (cryptoauthlib cfg atcahid.packetsize = 64). */
export const HID_REPORT_SIZE = 64;

/**
 * Cuts a line into HID output reports as hal_kit_hid's kit_phy_send does: each write is the
 * report ID 0 followed by `size` bytes of the line, zero-padded (so `size + 1` bytes per write).
 */
export function toHidReports(line: string, size = HID_REPORT_SIZE): Buffer[] {
  const bytes = Buffer.from(line, 'latin1');
  const out: Buffer[] = [];
  for (let pos = 0; pos < bytes.length; pos += size) {
    const report = Buffer.alloc(size + 1); // [0] = report ID 0, rest zero padding
    bytes.copy(report, 1, pos, Math.min(pos + size, bytes.length));
    out.push(report);
  }
  return out;
}

/**
 * Reassembles reply lines from HID input reports: the kit pads each 64-byte report with zeros
 * and a reply of up to ~160 characters spans several reports (kit_phy_receive reads until '\n').
 */
export class HidLineAssembler {
  #buf = '';

  /** Feeds one input report; returns the lines completed by it (without newlines). */
  push(report: Uint8Array): string[] {
    // NULs are padding, never protocol characters.
    this.#buf += Buffer.from(report).toString('latin1').replace(/\0/g, '');
    if (this.#buf.length > KIT_LINE_MAX * 2) throw new KeylineError('KIT_PROTOCOL_ERROR', `kit reply exceeds ${KIT_LINE_MAX} characters without a newline`);
    const lines: string[] = [];
    let nl: number;
    while ((nl = this.#buf.indexOf('\n')) >= 0) {
      lines.push(this.#buf.slice(0, nl).replace(/\r$/, ''));
      this.#buf = this.#buf.slice(nl + 1);
    }
    return lines;
  }

  /** Drops any partial line (after a timeout). */
  reset(): void {
    this.#buf = '';
  }
}

function hex2(n: number): string {
  return n.toString(16).toUpperCase().padStart(2, '0');
}

function clip(s: string): string {
  const t = s.replace(/\n/g, '\\n');
  return t.length > 60 ? `${t.slice(0, 60)}...` : t;
}
