/**
 * The line's three conversations with the server about one unit, each through the shared gate
 * (pause and retry while unreachable), and what each refusal means for the line: stop it
 * (quota, a station or work order refused), or condemn the part (clone, serial clash, bad key).
 */
import { KeylineError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { UnitIssued } from '../common/protocol/station-api.js';
import { ApiError, type StationApiClient } from './api-client.js';
import type { ServerGate } from './server-gate.js';

/** Ends the line: the quota is used up, or the server refuses this station or work order. */
export class StopLine extends Error {
  constructor(readonly reason: 'quota-exceeded' | 'error', message: string) {
    super(message);
  }
}

/** A chip, certificate or part fault: the unit is quarantined with this reason. */
export class UnitFault extends Error {
  constructor(message: string, readonly possibleClone = false) {
    super(message);
  }
}

/**
 * The server recorded the confirmation but the unit's registrations are not complete
 * (REGISTRATION_PENDING past the station's wait, or REGISTRY_REJECTED): the unit is not good;
 * the line keeps it pending with this code, and a later run confirms it again.
 */
export class RegistrationIncomplete extends Error {
  constructor(readonly code: 'REGISTRATION_PENDING' | 'REGISTRY_REJECTED', message: string) {
    super(`${code}: ${message}`);
  }
}

/** How long confirm keeps retrying REGISTRATION_PENDING, and its backoff. */
export interface RegistrationWait {
  totalMs?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/** `CODE: message` for a KeylineError, the message otherwise (journal reasons, events). */
export function faultText(err: unknown): string {
  return err instanceof KeylineError ? `${err.code}: ${err.message}` : String((err as Error)?.message ?? err);
}

/** Refusals on issue that mean this part (its key or serial) is wrong, not the line. */
const PART_REFUSALS = new Set(['SERIAL_EXISTS', 'IDEMPOTENCY_MISMATCH', 'INVALID_PUBLIC_KEY', 'POINT_NOT_ON_CURVE', 'UNSUPPORTED_CURVE', 'INVALID_SERIAL']);

/** The API calls the line makes. */
export type UnitApi = Pick<StationApiClient, 'issueUnit' | 'confirmUnit' | 'quarantineUnit' | 'getUnit'>;

/** Issue, confirm and quarantine for the line, with their refusal policy. */
export class UnitServer {
  /** Time spent in server calls, summed over workers. */
  ms = 0;

  constructor(private readonly api: UnitApi, private readonly gate: ServerGate, private readonly log: Logger,
    private readonly wait: RegistrationWait = {}) {}

  /** Asks for the certificate; the same idempotency key on every retry, across runs. */
  async issue(req: { serial: string; publicKeyHex: string; workOrder: string; idempotencyKey: string }): Promise<UnitIssued> {
    try {
      return await this.call(() => this.api.issueUnit({ serial: req.serial, publicKey: req.publicKeyHex, workOrder: req.workOrder, idempotencyKey: req.idempotencyKey }));
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.code === 'QUOTA_EXCEEDED' || err.code === 'WORK_ORDER_CLOSED') throw new StopLine('quota-exceeded', `${err.code}: ${err.message}`);
      if (err.code === 'DUPLICATE_KEY') throw new UnitFault(`possible clone: the server already holds this public key under another serial (${err.message})`, true);
      if (PART_REFUSALS.has(err.code)) throw new UnitFault(`server refused the part: ${err.code}: ${err.message}`);
      throw new StopLine('error', `server refused to issue: ${err.code}: ${err.message}`);
    }
  }

  /**
   * Confirms the unit and waits for its registrations: REGISTRATION_PENDING is retried with
   * backoff for a bounded time (each retry is an idempotent confirm), then RegistrationIncomplete;
   * REGISTRY_REJECTED is RegistrationIncomplete at once. Any other refusal whose answer may have
   * been lost is settled by looking the unit up.
   */
  async confirm(serial: string, fingerprint: string): Promise<void> {
    const deadline = Date.now() + (this.wait.totalMs ?? 60_000);
    let delay = this.wait.initialDelayMs ?? 1000;
    try {
      for (;;) {
        try {
          const r = await this.call(() => this.api.confirmUnit(serial, fingerprint));
          if (!r.complete) throw new RegistrationIncomplete('REGISTRATION_PENDING', `unit ${serial}: registrations not complete`);
          return;
        } catch (err) {
          if (!(err instanceof ApiError && err.code === 'REGISTRATION_PENDING')) throw err;
          if (Date.now() + delay > deadline) throw new RegistrationIncomplete('REGISTRATION_PENDING', err.message);
          this.log.info({ serial, delayMs: delay }, 'registrations pending, confirming again');
          await sleep(delay);
          delay = Math.min(delay * 2, this.wait.maxDelayMs ?? 10_000);
        }
      }
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.code === 'REGISTRY_REJECTED') throw new RegistrationIncomplete('REGISTRY_REJECTED', err.message);
      const u = await this.call(() => this.api.getUnit(serial)).catch(() => null);
      if (u?.status === 'confirmed' && u.fingerprintSha256 === fingerprint) return;
      throw new UnitFault(`server refused the confirmation: ${err.code}: ${err.message}`);
    }
  }

  /** Quarantines the unit on the server too; never throws (the journal holds the reason either way). */
  async quarantine(serial: string, reason: string): Promise<void> {
    try {
      await this.call(() => this.api.quarantineUnit(serial, reason.slice(0, 500)));
    } catch (err) {
      // UNKNOWN_UNIT: nothing was issued there. Anything else (the line stopping) is logged.
      if (!(err instanceof ApiError && err.code === 'UNKNOWN_UNIT')) this.log.warn({ serial, err: faultText(err) }, 'server quarantine not recorded');
    }
  }

  private async call<T>(fn: () => Promise<T>): Promise<T> {
    const t = performance.now();
    try {
      return await this.gate.call(fn);
    } finally {
      this.ms += performance.now() - t;
    }
  }
}
