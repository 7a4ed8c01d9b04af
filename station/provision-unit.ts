/**
 * One chip through the line: identify it, decide whether this run takes it (new, resumed, or
 * someone else's), check it is the chip its work order names, run the steps, and settle an
 * incomplete confirmation or a failure. A chip that cannot even be identified gets no journal
 * entry: without a serial there is nothing to resume.
 */
import { KeylineError } from '../common/errors.js';
import { Atecc608SecureElement } from '../secure-element/atecc608-secure-element.js';
import { AteccUnitChip } from './atecc-unit-chip.js';
import { chipDecision, type ChipLease } from './chip-source.js';
import { ElementUnitChip } from './element-unit-chip.js';
import { faultText } from './line-signals.js';
import type { UnitChip, UnitChipFacts } from './unit-chip.js';
import { beginUnit, timeChip, type LineContext } from './unit-context.js';
import { pendIncomplete, settleFailure, type UnitOutcome } from './unit-failure.js';
import { runSteps } from './unit-steps.js';

/** The steps' view of the leased part: the 608's own slot-level steps, any other chip through the SecureElement seam. */
export function unitChipFor(line: LineContext, lease: ChipLease): UnitChip {
  const e = lease.element;
  return e instanceof Atecc608SecureElement ? new AteccUnitChip(e.device, line.profile, line.checker) : new ElementUnitChip(e, line.checker);
}

/** Provisions the chip behind `lease`; throws only what stops the line. */
export async function provisionUnit(line: LineContext, lease: ChipLease): Promise<UnitOutcome> {
  const part = unitChipFor(line, lease);
  let facts: UnitChipFacts;
  try {
    facts = await timeChip(line, () => part.inspect());
  } catch (err) {
    // No serial, no journal entry: the part cannot even be identified; it goes to the reject bin.
    line.progress.failed++;
    line.progress.event(`rejected ${lease.where}: cannot read the chip (${faultText(err)})`);
    return 'skipped';
  }
  const decision = chipDecision(facts, line.journal.get(facts.serialHex), line.workOrder);
  if ('skip' in decision) {
    line.log.debug({ serial: facts.serialHex, where: lease.where }, `skipped: ${decision.skip}`);
    return 'skipped';
  }
  const u = beginUnit(line, part, facts);
  if (decision.take === 'new') line.onStep?.('started', u.serial);
  let confirmed;
  try {
    // Before anything is written to it: a part of the wrong chip is set aside untouched.
    const wanted = line.workOrderChip;
    if (wanted && facts.chip !== wanted) {
      throw new KeylineError('CHIP_MISMATCH', `work order ${line.workOrder} is for ${wanted} parts; ${lease.where} holds an ${facts.chip}`, { detail: { workOrder: line.workOrder, wanted, found: facts.chip } });
    }
    confirmed = await runSteps(u);
  } catch (err) {
    return settleFailure(u, lease, err);
  }
  if (!confirmed.complete) return pendIncomplete(u, confirmed);
  const fingerprint = u.rec().fingerprintSha256!;
  line.progress.unitGood(u.serial, fingerprint);
  line.log.info({ serial: u.serial, workOrder: line.workOrder, fingerprint }, 'unit good');
  return 'good';
}
