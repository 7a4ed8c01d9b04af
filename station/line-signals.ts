/**
 * The two ways a unit's run is cut short before its last step, thrown from deep inside a step
 * (a server refusal, a certificate check) and caught by the line. They are control flow, not
 * error codes: they never leave the station, so they are plain Error subclasses rather than
 * KeylineErrors, and nothing maps them to a wire answer.
 */
import { KeylineError } from '../common/errors.js';

/** Ends the line: the quota is used up, or the server refuses this station or work order. */
export class StopLine extends Error {
  override readonly name = 'StopLine';
  constructor(readonly reason: 'quota-exceeded' | 'error', message: string) {
    super(message);
  }
}

/** A chip, certificate or part fault: the unit is quarantined with this reason. */
export class UnitFault extends Error {
  override readonly name = 'UnitFault';
  constructor(message: string, readonly possibleClone = false) {
    super(message);
  }
}

/** `CODE: message` for a KeylineError, the message otherwise (journal reasons, events). */
export function faultText(err: unknown): string {
  return err instanceof KeylineError ? `${err.code}: ${err.message}` : String((err as Error)?.message ?? err);
}
