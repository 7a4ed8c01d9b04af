/**
 * Which chips the line takes: every device behind one or more kit endpoints (the emulator over
 * TCP, or Microchip USB kits over HID), one at a time per worker, each worker on its own link.
 * Whether a chip is taken is decided by `chipDecision` from the chip and the journal: blank parts
 * and parts this station left half-way are taken; good, quarantined and foreign parts are not.
 */
import { KeylineError } from '../common/errors.js';
import type { ChipPort } from '../emulator/chip-port.js';
import { AteccDevice } from '../secure-element/device.js';
import type { RunnerOptions } from '../secure-element/command-runner.js';
import { InProcessTransport } from '../secure-element/transports/in-process.js';
import { KitTransport, type KitClient } from '../secure-element/transports/kit-client.js';
import { KitHidTransport, listKitHid, type HidModule } from '../secure-element/transports/kit-hid.js';
import { connectKit } from '../secure-element/transports/kit-tcp.js';
import type { ChipFacts } from './chip-steps.js';
import type { UnitRecord } from './journal.js';

/** One chip handed to a worker. */
export interface ChipLease {
  device: AteccDevice;
  /** Where the chip sits, for messages (`kit 127.0.0.1:7777 #12`). */
  where: string;
  release(): Promise<void>;
}

/** A supply of chips shared by the line's workers. */
export interface ChipSource {
  /** The next chip for `worker`, or null when there is none left. */
  next(worker: number): Promise<ChipLease | null>;
  close(): Promise<void>;
}

/** What to do with a chip: take it (new or resumed) or skip it, with why. */
export type ChipDecision = { take: 'new' | 'resume' } | { skip: string };

/** Decides from the chip's lock state and the journal whether this run takes the chip. */
export function chipDecision(facts: Pick<ChipFacts, 'configLocked'>, rec: UnitRecord | undefined, workOrder: string): ChipDecision {
  if (!rec) return facts.configLocked ? { skip: 'not blank and not in this station\'s journal' } : { take: 'new' };
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

/** Parses `HOST:PORT[,HOST:PORT...]`, naming the flag and value at fault. */
export function parseEndpoints(value: string): Endpoint[] {
  return value.split(',').map((part) => {
    const m = /^(.+):(\d{1,5})$/.exec(part.trim());
    const port = m ? Number(m[2]) : NaN;
    if (!m || port < 1 || port > 65535) throw new KeylineError('VALIDATION_FAILED', `--emulator must be HOST:PORT, got '${part}'`);
    return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
  });
}

/** Every device behind kit-protocol TCP endpoints; each worker keeps one connection per endpoint and re-selects. */
export class KitTcpChipSource implements ChipSource {
  private readonly queue: Array<{ ep: number; address: number; index: number }>;
  private readonly links = new Map<string, Promise<KitClient>>();

  private constructor(private readonly endpoints: Endpoint[], queue: Array<{ ep: number; address: number; index: number }>, private readonly runner: RunnerOptions) {
    this.queue = queue;
  }

  /** Discovers the devices of every endpoint (`board:device(NN)` until the kit says none). */
  static async open(endpoints: Endpoint[], opts: { runner?: RunnerOptions } = {}): Promise<KitTcpChipSource> {
    const queue: Array<{ ep: number; address: number; index: number }> = [];
    for (const [ep, e] of endpoints.entries()) {
      const probe = await connectKit(e.host, e.port);
      try {
        for (const d of await probe.discover(65536)) queue.push({ ep, address: d.address, index: d.index });
      } finally {
        await probe.close();
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
    if (!link) {
      link = connectKit(e.host, e.port);
      this.links.set(key, link);
      // A failed connect is not cached: the next chip tries again.
      link.catch(() => this.links.delete(key));
    }
    const transport = await KitTransport.select(await link, item.address);
    // Released without closing: the connection is the worker's, the selection is the chip's.
    return { device: new AteccDevice(transport, this.runner), where: `kit ${e.host}:${e.port} #${item.index}`, release: async () => undefined };
  }

  async close(): Promise<void> {
    const links = [...this.links.values()];
    this.links.clear();
    await Promise.all(links.map(async (l) => (await l.catch(() => null))?.close()));
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
    const device = new AteccDevice(await KitHidTransport.open({ path, ...(this.hid ? { hid: this.hid } : {}) }), this.runner);
    return { device, where: `hid ${path}`, release: () => device.close() };
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
    const device = new AteccDevice(new InProcessTransport(chip), this.runner);
    return { device, where: `in-process #${index}`, release: () => device.close() };
  }

  async close(): Promise<void> {}
}
