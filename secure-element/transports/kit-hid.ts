/**
 * The kit protocol over USB HID (node-hid), as cryptoauthlib's hal_all_platforms_kit_hidapi.c
 * drives Microchip's kits: enumerate by VID/PID, write each line as 64-byte reports behind
 * report ID 0, read 64-byte reports until a newline. Above the LineLink it is the TCP code.
 */
import { KeylineError, SecureElementError } from '../../common/errors.js';
import { KitClient, KitTransport, type KitTimeouts } from './kit-client.js';
import { HID_REPORT_SIZE, HidLineAssembler, toHidReports, type LineLink } from './kit-framing.js';

/** Microchip's (formerly Atmel's) USB vendor ID. */
export const MICROCHIP_VID = 0x03eb;

/**
 * Kit product IDs the host library knows. cryptoauthlib's kit HID configs (cfg_ateccx08a_kithid_default,
 * the test harness, the python bindings) all use 0x2312: the CryptoAuthentication kit HID interface of
 * the Trust Platform (DM320118), CryptoAuth Xplained Pro and AT88CK101-family kits. Add other IDs here
 * only after seeing them on a real kit.
 */
export const KIT_HID_IDS: readonly { vid: number; pid: number; name: string }[] = [
  { vid: MICROCHIP_VID, pid: 0x2312, name: 'CryptoAuthentication kit (HID)' },
];

/** The part of node-hid's HIDAsync the link uses (a fake in tests). */
export interface HidDeviceLike {
  write(values: number[] | Buffer): Promise<number>;
  read(timeoutMs?: number): Promise<Buffer | undefined>;
  close(): Promise<void>;
}

/** A HID kit as enumeration reports it. */
export interface HidKitInfo {
  path?: string | undefined;
  vendorId: number;
  productId: number;
  serialNumber?: string | undefined;
  product?: string | undefined;
}

/** The part of the node-hid module used here (injectable for tests). */
export interface HidModule {
  devicesAsync(): Promise<HidKitInfo[]>;
  HIDAsync: { open(path: string): Promise<HidDeviceLike> };
}

/** Loads node-hid on demand, so hosts without USB never load the native module. */
export async function loadNodeHid(): Promise<HidModule> {
  try {
    const mod = (await import('node-hid')) as unknown as HidModule & { default?: HidModule };
    return mod.default ?? mod;
  } catch (err) {
    throw new KeylineError('NOT_SUPPORTED', `node-hid could not be loaded: ${(err as Error).message}`, { cause: err });
  }
}

/** HID kits attached to this host, filtered by the known VID/PID pairs. */
export async function listKitHid(hid?: HidModule): Promise<HidKitInfo[]> {
  const mod = hid ?? (await loadNodeHid());
  const all = await mod.devicesAsync();
  return all.filter((d) => KIT_HID_IDS.some((k) => k.vid === d.vendorId && k.pid === d.productId));
}

/** A LineLink over one HID kit. */
export class HidLineLink implements LineLink {
  readonly #dev: HidDeviceLike;
  readonly #reportSize: number;
  readonly #asm = new HidLineAssembler();
  #closed = false;
  #tail: Promise<unknown> = Promise.resolve();

  constructor(dev: HidDeviceLike, reportSize = HID_REPORT_SIZE) {
    this.#dev = dev;
    this.#reportSize = reportSize;
  }

  request(line: string, timeoutMs: number): Promise<string> {
    const p = this.#tail.then(() => this.#exchange(line, timeoutMs));
    this.#tail = p.catch(() => undefined);
    return p;
  }

  close(): Promise<void> {
    this.#closed = true;
    return this.#dev.close();
  }

  async #exchange(line: string, timeoutMs: number): Promise<string> {
    if (this.#closed) throw new SecureElementError('ATCA_COMM_ERROR', 'HID kit link is closed');
    for (const report of toHidReports(line, this.#reportSize)) {
      const n = await this.#dev.write(report);
      if (n !== report.length) throw new SecureElementError('ATCA_COMM_ERROR', `HID write sent ${n} of ${report.length} bytes`);
    }
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const left = deadline - Date.now();
      if (left <= 0) {
        this.#asm.reset();
        throw new SecureElementError('ATCA_TIMEOUT', `no kit reply within ${timeoutMs} ms to '${line.trim().slice(0, 40)}'`);
      }
      const report = await this.#dev.read(Math.min(left, 500));
      if (!report || report.length === 0) continue;
      let lines: string[];
      try {
        lines = this.#asm.push(report);
      } catch (err) {
        this.#asm.reset();
        throw new SecureElementError('ATCA_COMM_ERROR', (err as Error).message, { cause: err });
      }
      if (lines.length > 0) return lines[0]!;
    }
  }
}

/** The kit-over-HID Transport: one kit, one selected device. */
export class KitHidTransport extends KitTransport {
  /**
   * Opens a HID kit (the one at `path`, or the first known kit) and selects a device on it: by
   * `address`, or the first `ECC6`/`ECC5` device `board:device` reports (as kit_init does).
   */
  static async open(opts: { path?: string; address?: number; hid?: HidModule; timeouts?: KitTimeouts } = {}): Promise<KitHidTransport> {
    const hid = opts.hid ?? (await loadNodeHid());
    let path = opts.path;
    if (!path) {
      const kits = await listKitHid(hid);
      path = kits.find((k) => k.path)?.path;
      if (!path) throw new KeylineError('KIT_DEVICE_NOT_FOUND', `no Microchip HID kit found (VID 0x03EB, PIDs ${KIT_HID_IDS.map((k) => `0x${k.pid.toString(16)}`).join(', ')})`);
    }
    const dev = await hid.HIDAsync.open(path);
    return KitHidTransport.over(dev, opts);
  }

  /** Selects a device over an already-open HID device (also the seam the tests use). */
  static async over(dev: HidDeviceLike, opts: { address?: number; timeouts?: KitTimeouts; reportSize?: number } = {}): Promise<KitHidTransport> {
    const client = new KitClient(new HidLineLink(dev, opts.reportSize), opts.timeouts);
    try {
      let address = opts.address;
      if (address === undefined) {
        // kit_init scans up to 8 indices and takes the first ECC device (compares 4 characters).
        for (let i = 0; i < 8 && address === undefined; i++) {
          const d = await client.device(i);
          if (!d) break;
          if (d.type.toUpperCase().startsWith('ECC')) address = d.address;
        }
        if (address === undefined) throw new KeylineError('KIT_DEVICE_NOT_FOUND', 'the HID kit reports no ECC device');
      }
      await client.select(address);
      return new KitHidTransport(client, address);
    } catch (err) {
      await client.close().catch(() => undefined);
      throw err;
    }
  }
}
