/**
 * Which chips the line takes: every device behind one or more kit endpoints (the emulator over
 * TCP, or Microchip USB kits over HID), one at a time per worker, each worker on its own link.
 * Whether a chip is taken is decided by `chipDecision` from the chip and the journal: blank parts
 * and parts this station left half-way are taken; good, quarantined and foreign parts are not.
 */
import { connect, type Socket } from 'node:net';
import { KeylineError, SecureElementError } from '../common/errors.js';
import type { ChipPort } from '../emulator/chip-port.js';
import { Atecc608SecureElement } from '../secure-element/atecc608-secure-element.js';
import { AteccDevice } from '../secure-element/device.js';
import type { SecureElement } from '../secure-element/secure-element.js';
import type { RunnerOptions } from '../secure-element/command-runner.js';
import { InProcessTransport } from '../emulator/in-process-transport.js';
import { KitClient, KitTransport } from '../secure-element/transports/kit-client.js';
import { KitHidTransport, listKitHid, type HidModule } from '../secure-element/transports/kit-hid.js';
import { StreamLineLink } from '../secure-element/transports/stream-line-link.js';
import type { UnitRecord } from './journal.js';
import type { UnitChipFacts } from './unit-chip.js';

/** One chip handed to a worker. */
export interface ChipLease {
  /** The part, either chip (an ATECC608 as Atecc608SecureElement, whose kit driver its steps use). */
  element: SecureElement;
  /** Where the chip sits, for messages (`kit 127.0.0.1:7777 #12`). */
  where: string;
  release(): Promise<void>;
  /** True once the link to the kit is gone: a failure then is the link's, not the chip's. */
  linkDown?(): boolean;
  /** Puts the chip back at the end of the queue (after a link failure); false when it was retried enough. */
  requeue?(): boolean;
}

/** A supply of chips shared by the line's workers. */
export interface ChipSource {
  /** The next chip for `worker`, or null when there is none left. */
  next(worker: number): Promise<ChipLease | null>;
  close(): Promise<void>;
}

/** What to do with a chip: take it (new or resumed) or skip it, with why. */
export type ChipDecision = { take: 'new' | 'resume' } | { skip: string };

/** Decides from the chip's state (blank or not) and the journal whether this run takes the chip. */
export function chipDecision(facts: Pick<UnitChipFacts, 'blank'>, rec: UnitRecord | undefined, workOrder: string): ChipDecision {
  if (!rec) return facts.blank ? { take: 'new' } : { skip: 'not blank and not in this station\'s journal' };
  if (rec.status === 'good') return { skip: 'already provisioned' };
  if (rec.status === 'quarantined') return { skip: `quarantined: ${rec.reason ?? ''}` };
  if (rec.workOrder !== workOrder) return { skip: `in progress for work order ${rec.workOrder}` };
  return { take: 'resume' };
}

/** A kit endpoint `HOST:PORT`. */
export interface Endpoint {
  host: string;
  port: number;
}

/**
 * Parses `HOST:PORT[,HOST:PORT...]`, naming the flag and value at fault. `HOST:FIRST-LAST` is
 * every port of the range: the SE050 emulator serves each chip on its own port (JRCP carries no
 * reader address), so a rack of N chips is one range.
 */
export function parseEndpoints(value: string): Endpoint[] {
  return value.split(',').flatMap((part) => {
    const m = /^(.+):(\d{1,5})(?:-(\d{1,5}))?$/.exec(part.trim());
    const port = m ? Number(m[2]) : NaN;
    const last = m?.[3] === undefined ? port : Number(m[3]);
    if (!m || port < 1 || last > 65535 || last < port) throw new KeylineError('VALIDATION_FAILED', `--emulator must be HOST:PORT or HOST:FIRST-LAST, got '${part}'`);
    const host = m[1]!.replace(/^\[(.*)\]$/, '$1');
    return Array.from({ length: last - port + 1 }, (_, i) => ({ host, port: port + i }));
  });
}

/** One kit connection and whether it is still up. */
interface KitLink {
  client: KitClient;
  down(): boolean;
}

/** Connects to a kit endpoint (TCP_NODELAY: one short line per request) and watches the socket. */
async function openKitLink(e: Endpoint): Promise<KitLink> {
  const socket = await new Promise<Socket>((resolve, reject) => {
    const s = connect({ host: e.host, port: e.port, noDelay: true });
    s.once('connect', () => {
      s.off('error', reject);
      resolve(s);
    });
    s.once('error', (err) => reject(new SecureElementError('ATCA_COMM_ERROR', `cannot reach kit at ${e.host}:${e.port}: ${err.message}`, { cause: err })));
  });
  let closed = false;
  const mark = () => (closed = true);
  socket.once('end', mark).once('close', mark).once('error', mark);
  return { client: new KitClient(new StreamLineLink(socket)), down: () => closed || socket.destroyed };
}

/** Every device behind kit-protocol TCP endpoints; each worker keeps one connection per endpoint and re-selects. */
export class KitTcpChipSource implements ChipSource {
  private readonly queue: Array<{ ep: number; address: number; index: number; tries?: number }>;
  private readonly links = new Map<string, KitLink>();

  private constructor(private readonly endpoints: Endpoint[], queue: Array<{ ep: number; address: number; index: number; tries?: number }>, private readonly runner: RunnerOptions) {
    this.queue = queue;
  }

  /** Discovers the devices of every endpoint (`board:device(NN)` until the kit says none). */
  static async open(endpoints: Endpoint[], opts: { runner?: RunnerOptions } = {}): Promise<KitTcpChipSource> {
    const queue: Array<{ ep: number; address: number; index: number; tries?: number }> = [];
    for (const [ep, e] of endpoints.entries()) {
      const probe = await openKitLink(e);
      try {
        for (const d of await probe.client.discover(65536)) queue.push({ ep, address: d.address, index: d.index });
      } finally {
        await probe.client.close();
      }
    }
    return new KitTcpChipSource(endpoints, queue, opts.runner ?? {});
  }

  /** Devices not yet handed out. */
  get remaining(): number {
    return this.queue.length;
  }

  async next(worker: number): Promise<ChipLease | null> {
    const item = this.queue.shift();
    if (!item) return null;
    const e = this.endpoints[item.ep]!;
    const key = `${worker}/${item.ep}`;
    let link = this.links.get(key);
    // A link that went down (kit restarted, cable pulled) is replaced for the next chip.
    if (!link || link.down()) {
      if (link) await link.client.close().catch(() => undefined);
      this.links.delete(key);
      link = await openKitLink(e);
      this.links.set(key, link);
    }
    const transport = await KitTransport.select(link.client, item.address);
    const l = link;
    // Released without closing: the connection is the worker's, the selection is the chip's.
    return {
      element: new Atecc608SecureElement(new AteccDevice(transport, this.runner)),
      where: `kit ${e.host}:${e.port} #${item.index}`,
      release: async () => undefined,
      linkDown: () => l.down(),
      requeue: () => {
        item.tries = (item.tries ?? 0) + 1;
        if (item.tries > 2) return false;
        this.queue.push(item);
        return true;
      },
    };
  }

  async close(): Promise<void> {
    const links = [...this.links.values()];
    this.links.clear();
    await Promise.all(links.map((l) => l.client.close().catch(() => undefined)));
  }
}

/** Microchip USB kits over HID: each kit holds one chip, taken once per run. */
export class KitHidChipSource implements ChipSource {
  private constructor(private readonly paths: string[], private readonly hid: HidModule | undefined, private readonly runner: RunnerOptions) {}

  /** Lists the kits node-hid (or the injected module) sees, by Microchip VID/PID. */
  static async open(opts: { hid?: HidModule; runner?: RunnerOptions } = {}): Promise<KitHidChipSource> {
    const kits = await listKitHid(opts.hid);
    const paths = kits.flatMap((k) => (k.path ? [k.path] : []));
    if (paths.length === 0) throw new KeylineError('KIT_DEVICE_NOT_FOUND', 'no Microchip HID kit found');
    return new KitHidChipSource(paths, opts.hid, opts.runner ?? {});
  }

  async next(): Promise<ChipLease | null> {
    const path = this.paths.shift();
    if (!path) return null;
    const element = new Atecc608SecureElement(new AteccDevice(await KitHidTransport.open({ path, ...(this.hid ? { hid: this.hid } : {}) }), this.runner));
    return { element, where: `hid ${path}`, release: () => element.close() };
  }

  async close(): Promise<void> {}
}

/** Chips in this process (unit tests and the benchmark's in-process mode). */
export class InProcessChipSource implements ChipSource {
  private i = 0;
  constructor(private readonly chips: ChipPort[], private readonly runner: RunnerOptions = {}) {}

  async next(): Promise<ChipLease | null> {
    const index = this.i++;
    const chip = this.chips[index];
    if (!chip) return null;
    const element = new Atecc608SecureElement(new AteccDevice(new InProcessTransport(chip), this.runner));
    return { element, where: `in-process #${index}`, release: () => element.close() };
  }

  async close(): Promise<void> {}
}
