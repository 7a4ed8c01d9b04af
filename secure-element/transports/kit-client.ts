/**
 * The kit protocol above the framing: discovery, selection, and a Transport that speaks
 * wake/idle/sleep/talk lines. Identical for the emulator over TCP and a USB HID kit; only the
 * LineLink underneath differs (cryptoauthlib's kit_protocol.c over kit_phy).
 */
import { KeylineError, SecureElementError, type ErrorCode } from '../../common/errors.js';
import type { Transport } from '../transport.js';
import { KitRequest, KitStatus, parseDeviceLine, parseKitReply, type KitDeviceLine, type LineLink } from './kit-framing.js';

/** A device found by discovery: its index on the kit and what `board:device` said. */
export interface KitDevice extends KitDeviceLine {
  index: number;
}

/** Timeouts for kit requests. */
export interface KitTimeouts {
  /** For discovery, select, wake, idle and sleep (default 2,000 ms). */
  controlMs?: number;
  /** Added to a command's maximum execution time for `t()` (default 2,000 ms). */
  talkMarginMs?: number;
}

// Library status codes a kit may answer with (cryptoauthlib atca_status.h) and what they mean here.
const KIT_STATUS_CODES: Record<number, ErrorCode> = {
  0xd0: 'ATCA_WAKE_FAILED',
  0xd1: 'ATCA_MISCOMPARE',
  0xd2: 'ATCA_PARSE_ERROR',
  0xd4: 'ATCA_CRC_ERROR',
  0xd6: 'ATCA_ECC_FAULT',
  0xd7: 'ATCA_SELFTEST_ERROR',
  0xe5: 'ATCA_CRC_ERROR',
  0xe6: 'ATCA_COMM_ERROR',
  0xe7: 'ATCA_COMM_ERROR',
  0xea: 'ATCA_COMM_ERROR',
  0xeb: 'ATCA_COMM_ERROR',
  0xec: 'ATCA_COMM_ERROR',
  0xf0: 'ATCA_COMM_ERROR',
  0xf1: 'ATCA_TIMEOUT',
  0xf4: 'ATCA_EXECUTION_ERROR',
  0xf9: 'KIT_DEVICE_NOT_FOUND',
  0xfa: 'ATCA_HEALTH_TEST_ERROR',
};

/** The error for a non-zero kit status that came without data. */
export function kitStatusError(status: number, what: string): KeylineError {
  const code = KIT_STATUS_CODES[status] ?? 'KIT_PROTOCOL_ERROR';
  const msg = `${what}: kit status 0x${status.toString(16).padStart(2, '0')}`;
  return code.startsWith('ATCA_') ? new SecureElementError(code, msg) : new KeylineError(code, msg);
}

/** Kit-level requests over one LineLink. */
export class KitClient {
  readonly link: LineLink;
  readonly #controlMs: number;
  readonly #talkMarginMs: number;

  constructor(link: LineLink, timeouts: KitTimeouts = {}) {
    this.link = link;
    this.#controlMs = timeouts.controlMs ?? 2000;
    this.#talkMarginMs = timeouts.talkMarginMs ?? 2000;
  }

  /** `board:device(NN)`: the device at kit index `index`, or null when there is none. */
  async device(index: number): Promise<KitDevice | null> {
    const line = await this.link.request(KitRequest.device(index), this.#controlMs);
    const d = parseDeviceLine(line);
    return d ? { index, ...d } : null;
  }

  /**
   * Every device on the kit: asks index 0, 1, ... until the kit says there is none (cryptoauthlib
   * stops at 8; the emulator serves more, so the limit here is `max`).
   */
  async discover(max = 256): Promise<KitDevice[]> {
    const found: KitDevice[] = [];
    for (let i = 0; i < max; i++) {
      const d = await this.device(i);
      if (!d) break;
      found.push(d);
    }
    return found;
  }

  /** `E:physical:select(AA)`: makes `address` this link's device. */
  async select(address: number, target = 'E'): Promise<void> {
    const r = await this.#reply(KitRequest.select(address, target), this.#controlMs, `select ${address.toString(16)}`);
    if (r.status !== KitStatus.OK) {
      throw new KeylineError('KIT_DEVICE_NOT_FOUND', `kit has no device at address 0x${address.toString(16)} (status 0x${r.status.toString(16)})`);
    }
  }

  /** `E:w()`: the chip's wake response bytes. */
  async wake(target = 'E'): Promise<Uint8Array> {
    return this.#data(KitRequest.wake(target), this.#controlMs, 'wake');
  }

  /** `E:i()`. */
  async idle(target = 'E'): Promise<void> {
    await this.#data(KitRequest.idle(target), this.#controlMs, 'idle');
  }

  /** `E:s()`. */
  async sleep(target = 'E'): Promise<void> {
    await this.#data(KitRequest.sleep(target), this.#controlMs, 'sleep');
  }

  /** `E:t(HEX)`: one command packet; resolves with the chip's response packet. */
  async talk(packet: Uint8Array, maxExecMs: number, target = 'E'): Promise<Uint8Array> {
    return this.#data(KitRequest.talk(packet, target), maxExecMs + this.#talkMarginMs, 'talk');
  }

  close(): Promise<void> {
    return this.link.close();
  }

  async #reply(line: string, timeoutMs: number, what: string) {
    const text = await this.link.request(line, timeoutMs);
    try {
      return parseKitReply(text);
    } catch (err) {
      throw new SecureElementError('ATCA_COMM_ERROR', `${what}: ${(err as Error).message}`, { cause: err });
    }
  }

  async #data(line: string, timeoutMs: number, what: string): Promise<Uint8Array> {
    const r = await this.#reply(line, timeoutMs, what);
    // Kit firmware puts the device's own status inside the packet; a bare non-zero kit status
    // means the kit itself failed (no device answer, no selection, bad request).
    if (r.status !== KitStatus.OK && r.data.length === 0) throw kitStatusError(r.status, what);
    return r.data;
  }
}

/** A Transport to the selected device of a kit; one per LineLink (selection is per link). */
export class KitTransport implements Transport {
  readonly client: KitClient;
  readonly address: number;
  readonly target: string;

  constructor(client: KitClient, address: number, target = 'E') {
    this.client = client;
    this.address = address;
    this.target = target;
  }

  /** Selects `address` on the kit behind `client` and returns the transport. */
  static async select(client: KitClient, address: number, target = 'E'): Promise<KitTransport> {
    await client.select(address, target);
    return new KitTransport(client, address, target);
  }

  async wake(): Promise<Uint8Array> {
    try {
      return await this.client.wake(this.target);
    } catch (err) {
      if (err instanceof SecureElementError && err.code === 'ATCA_COMM_ERROR') {
        throw new SecureElementError('ATCA_WAKE_FAILED', `wake failed: ${err.message}`, { cause: err });
      }
      throw err;
    }
  }

  idle(): Promise<void> {
    return this.client.idle(this.target);
  }

  sleep(): Promise<void> {
    return this.client.sleep(this.target);
  }

  transact(packet: Uint8Array, maxExecMs: number): Promise<Uint8Array> {
    return this.client.talk(packet, maxExecMs, this.target);
  }

  close(): Promise<void> {
    return this.client.close();
  }
}
