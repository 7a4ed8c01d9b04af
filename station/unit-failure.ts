/**
 * What a failed unit means: the line stops, the unit waits (pending, resumable), or the part is
 * condemned (quarantined, here and on the server). Only chip, kit and certificate faults condemn
 * a part; anything else is the line's problem and must not cost a good chip.
 */
import { KeylineError, SecureElementError } from '../common/errors.js';
import type { ChipLease } from './chip-source.js';
import { faultText, StopLine, UnitFault } from './line-signals.js';
import type { ConfirmResult } from './unit-client.js';
import type { UnitContext } from './unit-context.js';

/** How a unit left the line. */
export type UnitOutcome = 'good' | 'quarantined' | 'skipped' | 'pending';

/**
 * Written, locked and confirmed, but not known to every registry: never counted good; pending
 * with the code (journal and report), confirmed again by a later run.
 */
export function pendIncomplete(u: UnitContext, r: Extract<ConfirmResult, { complete: false }>): UnitOutcome {
  u.line.journal.pend(u.serial, r.reason);
  u.line.progress.event(`not complete ${u.serial}: ${r.reason}`);
  u.line.log.warn({ serial: u.serial, workOrder: u.line.workOrder, code: r.code }, `unit not complete: ${r.reason}`);
  return 'pending';
}

/** Journals the failure of a unit and returns its outcome, or rethrows what stops the line. */
export async function settleFailure(u: UnitContext, lease: ChipLease, err: unknown): Promise<UnitOutcome> {
  const { line, serial } = u;
  if (err instanceof StopLine) {
    line.journal.pend(serial, err.message);
    throw err;
  }
  if (!isPartFault(err)) {
    line.journal.pend(serial, faultText(err));
    throw err;
  }
  if (lease.linkDown?.()) {
    // The kit (or JRCP) link failed, not the chip: the unit waits, resumable, for a later run.
    const reason = `${lease.element.chip === 'se050' ? 'JRCP' : 'kit'} link lost at ${lease.where}: ${faultText(err)}`;
    line.journal.pend(serial, reason);
    const again = lease.requeue?.() ?? false;
    line.progress.event(`paused ${serial}: ${reason}${again ? '; it will be taken again' : ''}`);
    line.log.warn({ serial, workOrder: line.workOrder }, reason);
    return 'pending';
  }
  return quarantine(u, err);
}

/** Condemns the part: quarantined in the journal, and on the server once it may hold a certificate. */
async function quarantine(u: UnitContext, err: unknown): Promise<UnitOutcome> {
  const { line, serial } = u;
  const possibleClone = err instanceof UnitFault && err.possibleClone;
  const reason = err instanceof UnitFault ? err.message : faultText(err);
  line.journal.quarantine(serial, reason, { possibleClone });
  // Once the sign request may have left (step keyed), the server may hold a certificate for
  // this part, even one this station never recorded: it must not count as shippable there either.
  if (u.done('keyed')) await line.client.quarantine(serial, reason);
  line.progress.unitFailed(serial, reason, possibleClone);
  line.log.warn({ serial, workOrder: line.workOrder, possibleClone }, `unit quarantined: ${reason}`);
  return 'quarantined';
}

function isPartFault(err: unknown): boolean {
  return err instanceof UnitFault || err instanceof SecureElementError || (err instanceof KeylineError && isPartCode(err.code));
}

/** Error codes that condemn the part rather than the line (chip, kit and certificate faults; a part of the wrong chip). */
function isPartCode(code: string): boolean {
  return code.startsWith('ATCA_') || code.startsWith('ATCACERT_') || code.startsWith('SE05X_') || code === 'KIT_PROTOCOL_ERROR' || code === 'CHAIN_INVALID'
    || code === 'VALIDATION_FAILED' || code === 'CHIP_MISMATCH';
}
