/**
 * What one unit's steps share: the chip, the facts read from it, its journal record, and the
 * line's parts. Each step reads `done()` before acting and calls `advance()` after, so the
 * journal always holds the last step finished and a resumed unit starts after it.
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from '../common/log.js';
import type { ChipKind } from '../common/chip-serial.js';
import type { CertChecker } from './cert-check.js';
import type { ProvisioningProfile } from './chip-steps.js';
import { STEPS, type Journal, type Step, type UnitRecord } from './journal.js';
import type { Progress } from './progress.js';
import type { UnitChip, UnitChipFacts } from './unit-chip.js';
import type { UnitClient } from './unit-client.js';

/** The line's parts and settings every unit uses. */
export interface LineContext {
  journal: Journal;
  checker: CertChecker;
  profile: ProvisioningProfile;
  progress: Progress;
  client: UnitClient;
  log: Logger;
  workOrder: string;
  /** The work order's chip, when the server said (a part of another kind is quarantined untouched). */
  workOrderChip?: ChipKind;
  station: string;
  onStep?: (step: string, serial: string) => void;
  /** Time spent talking to chips, summed over workers. */
  timing: { chipMs: number };
}

/** Fields the journal stores with a step (its `advance` argument). */
export type StepFields = Parameters<Journal['advance']>[2];

/** One unit in progress on one chip. */
export interface UnitContext {
  readonly line: LineContext;
  /** The part, whichever chip it is. */
  readonly part: UnitChip;
  readonly facts: UnitChipFacts;
  readonly serial: string;
  /** The journal record as of the last step. */
  rec(): UnitRecord;
  /** True once `step` (or a later one) is journaled. */
  done(step: Step): boolean;
  /** Journals `step` as finished, then tells onStep. */
  advance(step: Step, fields?: StepFields): void;
  /** Runs a chip operation, adding its time to the line's chip time. */
  chip<T>(fn: () => Promise<T>): Promise<T>;
}

/** Opens the unit's journal record (new or resumed) and the context its steps run in. */
export function beginUnit(line: LineContext, part: UnitChip, facts: UnitChipFacts): UnitContext {
  const serial = facts.serialHex;
  let rec = line.journal.begin(serial, line.workOrder, line.station);
  return {
    line, part, facts, serial,
    rec: () => rec,
    done: (s) => STEPS.indexOf(rec.step) >= STEPS.indexOf(s),
    advance: (s, fields) => {
      line.journal.advance(serial, s, fields);
      rec = line.journal.get(serial)!;
      line.onStep?.(s, serial);
    },
    chip: (fn) => timeChip(line, fn),
  };
}

/** Runs a chip operation, adding its time to the line's chip time (also before a unit exists). */
export async function timeChip<T>(line: LineContext, fn: () => Promise<T>): Promise<T> {
  const t = performance.now();
  try {
    return await fn();
  } finally {
    line.timing.chipMs += performance.now() - t;
  }
}
