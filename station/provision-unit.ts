/**
 * One chip through the line: identify it, decide whether this run takes it (new, resumed, or
 * someone else's), run the steps, and settle an incomplete confirmation or a failure. A chip that cannot even be identified
 * gets no journal entry: without a serial there is nothing to resume.
 */
import { chipDecision, type ChipLease } from './chip-source.js';
import { inspectChip } from './chip-steps.js';
import { faultText } from './line-signals.js';
import { beginUnit, timeChip, type LineContext } from './unit-context.js';
import { pendIncomplete, settleFailure, type UnitOutcome } from './unit-failure.js';
import { runSteps } from './unit-steps.js';

/** Provisions the chip behind `lease`; throws only what stops the line. */
export async function provisionUnit(line: LineContext, lease: ChipLease): Promise<UnitOutcome> {
  let facts;
  try {
    facts = await timeChip(line, () => inspectChip(lease.device));
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
  const u = beginUnit(line, lease.device, facts);
  if (decision.take === 'new') line.onStep?.('started', u.serial);
  let confirmed;
  try {
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
