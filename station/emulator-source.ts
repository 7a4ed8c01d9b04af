/**
 * The chips behind `--emulator HOST:PORT[,...]`, whichever chip each endpoint serves: each is
 * probed (endpoint-probe.ts), the ATECC608 kit endpoints become one KitTcpChipSource (every device
 * of every kit), the JRCP endpoints one JrcpChipSource (one SE050 per endpoint), and a line given
 * both takes the kits' chips first.
 */
import type { ChipKind } from '../common/chip-serial.js';
import type { RunnerOptions } from '../secure-element/command-runner.js';
import { KitTcpChipSource, type ChipLease, type ChipSource, type Endpoint } from './chip-source.js';
import { probeEndpoint } from './endpoint-probe.js';
import { JrcpChipSource } from './se050-chip-source.js';

/** Endpoints probed at once (a rack of a thousand SE050 ports is probed in a second or so). */
const PROBES_AT_ONCE = 32;

/** The chip source for `endpoints`, with the chips found per kind (for the operator's first line). */
export async function openEmulatorSource(endpoints: Endpoint[], opts: { runner?: RunnerOptions; probeTimeoutMs?: number } = {}): Promise<{ source: ChipSource; kinds: Record<ChipKind, number> }> {
  const kinds = new Array<ChipKind>(endpoints.length);
  for (let i = 0; i < endpoints.length; i += PROBES_AT_ONCE) {
    const batch = endpoints.slice(i, i + PROBES_AT_ONCE);
    const found = await Promise.all(batch.map((e) => probeEndpoint(e, opts.probeTimeoutMs ? { timeoutMs: opts.probeTimeoutMs } : {})));
    found.forEach((k, j) => (kinds[i + j] = k));
  }
  const kits = endpoints.filter((_, i) => kinds[i] === 'atecc608');
  const cards = endpoints.filter((_, i) => kinds[i] === 'se050');
  const sources: ChipSource[] = [];
  let kitChips = 0;
  if (kits.length) {
    const kit = await KitTcpChipSource.open(kits, opts.runner ? { runner: opts.runner } : {});
    kitChips = kit.remaining;
    sources.push(kit);
  }
  if (cards.length) sources.push(new JrcpChipSource(cards));
  return { source: sources.length === 1 ? sources[0]! : new ChainedChipSource(sources), kinds: { atecc608: kitChips, se050: cards.length } };
}

/** Several sources, drained in order. */
export class ChainedChipSource implements ChipSource {
  constructor(private readonly sources: ChipSource[]) {}

  async next(worker: number): Promise<ChipLease | null> {
    for (const s of this.sources) {
      const lease = await s.next(worker);
      if (lease) return lease;
    }
    return null;
  }

  async close(): Promise<void> {
    await Promise.all(this.sources.map((s) => s.close()));
  }
}
