/**
 * The kit protocol over TCP: how a station reaches `keyline emulator serve` (and any kit bridged
 * to a socket). Same KitClient/KitTransport as HID; only the StreamLineLink differs.
 */
import { connect, type Socket } from 'node:net';
import { KeylineError, SecureElementError } from '../../common/errors.js';
import { AteccDevice } from '../device.js';
import type { RunnerOptions } from '../command-runner.js';
import { KitClient, KitTransport, type KitTimeouts } from './kit-client.js';
import { StreamLineLink } from './stream-line-link.js';

/** Opens a TCP connection (TCP_NODELAY: one small line per request) and wraps it in a KitClient. */
export async function connectKit(host: string, port: number, timeouts: KitTimeouts = {}): Promise<KitClient> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ host, port, noDelay: true });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', (err) => reject(new SecureElementError('ATCA_COMM_ERROR', `cannot reach kit at ${host}:${port}: ${err.message}`, { cause: err })));
  });
  return new KitClient(new StreamLineLink(socket), timeouts);
}

/** Where to find one device on a kit: by discovery index (default 0) or by address. */
export interface KitSelector {
  index?: number;
  address?: number;
}

/** The kit-over-TCP Transport: one connection, one selected device. */
export class KitTcpTransport extends KitTransport {
  /** Connects, finds the device (by index via `board:device`, or by address) and selects it. */
  static async open(host: string, port: number, sel: KitSelector = {}, timeouts: KitTimeouts = {}): Promise<KitTcpTransport> {
    const client = await connectKit(host, port, timeouts);
    try {
      let address = sel.address;
      if (address === undefined) {
        const d = await client.device(sel.index ?? 0);
        if (!d) throw new KeylineError('KIT_DEVICE_NOT_FOUND', `kit at ${host}:${port} has no device at index ${sel.index ?? 0}`);
        address = d.address;
      }
      await client.select(address);
      return new KitTcpTransport(client, address);
    } catch (err) {
      await client.close();
      throw err;
    }
  }
}

/** One device served by a kit endpoint, ready to drive. */
export interface KitTcpDevice {
  index: number;
  address: number;
  /** Device type as the kit reports it (e.g. `ECC608`). */
  type: string;
  /** The 9-byte serial in hex, when `readSerial` was asked for (the default). */
  serial?: string;
  device: AteccDevice;
}

/**
 * Discovers every device behind a kit endpoint and opens one connection per device, so parallel
 * station workers can each take one chip. Close each `device` when done.
 */
export async function openKitTcpDevices(host: string, port: number, opts: { readSerial?: boolean; max?: number; runner?: RunnerOptions; timeouts?: KitTimeouts } = {}): Promise<KitTcpDevice[]> {
  const probe = await connectKit(host, port, opts.timeouts);
  let found;
  try {
    found = await probe.discover(opts.max ?? 256);
  } finally {
    await probe.close();
  }
  const out: KitTcpDevice[] = [];
  try {
    for (const d of found) {
      const transport = await KitTcpTransport.open(host, port, { address: d.address }, opts.timeouts);
      const device = new AteccDevice(transport, opts.runner);
      const entry: KitTcpDevice = { index: d.index, address: d.address, type: d.type, device };
      out.push(entry);
      if (opts.readSerial ?? true) entry.serial = Buffer.from(await device.serialNumber()).toString('hex');
    }
  } catch (err) {
    await Promise.all(out.map((e) => e.device.close().catch(() => undefined)));
    throw err;
  }
  return out;
}
