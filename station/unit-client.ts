/**
 * The line's three conversations with the server about one unit, each through the shared gate
 * (pause and retry while unreachable), and what each refusal means for the line: stop it
 * (quota, a station or work order refused), condemn the part (clone, serial clash, bad key), or
 * leave the unit pending (its registrations are not complete).
 */
import type { ChipKind } from '../common/chip-serial.js';
import type { Logger } from '../common/log.js';
import { setTimeout as sleep } from 'node:timers/promises';
import type { KeyOriginEvidence } from '../common/protocol/key-origin.js';
import type { UnitIssued } from '../common/protocol/station-api.js';
import { ApiError, type StationApiClient } from './api-client.js';
import { faultText, StopLine, UnitFault } from './line-signals.js';
import { IssueBatcher } from './issue-batcher.js';
import type { ServerGate } from './server-gate.js';

/**
 * What a confirm came to: complete, or recorded by the server but with its registrations not
 * complete (REGISTRATION_PENDING past the station's wait, or REGISTRY_REJECTED). An incomplete
 * unit is not good: the line keeps it pending with this reason, and a later run confirms it
 * again. An outcome, not a fault, so it is returned rather than thrown.
 */
export type ConfirmResult = { complete: true } | { complete: false; code: 'REGISTRATION_PENDING' | 'REGISTRY_REJECTED'; reason: string };

const incomplete = (code: 'REGISTRATION_PENDING' | 'REGISTRY_REJECTED', message: string): ConfirmResult => ({ complete: false, code, reason: `${code}: ${message}` });

/** How long confirm keeps retrying REGISTRATION_PENDING, and its backoff. */
export interface RegistrationWait {
  totalMs?: number;
  initialDelayMs?: number;
  maxDelayMs?: number;
}

/**
 * Refusals on issue that mean this part (its key, serial or key-origin evidence) is wrong, not
 * the line: ATTESTATION_INVALID on a work order that requires evidence is a part that could not
 * prove its key was made inside a genuine chip.
 */
const PART_REFUSALS = new Set(['SERIAL_EXISTS', 'IDEMPOTENCY_MISMATCH', 'INVALID_PUBLIC_KEY', 'POINT_NOT_ON_CURVE', 'UNSUPPORTED_CURVE', 'INVALID_SERIAL', 'ATTESTATION_INVALID']);

/** The API calls the line makes (issueBatch when several units are ready at once: issue-batcher.ts). */
export type UnitApi = Pick<StationApiClient, 'issueUnit' | 'confirmUnit' | 'quarantineUnit' | 'getUnit'> & Partial<Pick<StationApiClient, 'issueBatch' | 'getWorkOrder'>>;

/**
 * The line's client for one unit's server calls (issue, confirm, quarantine) over the station
 * API, through the shared gate, with what each refusal means for the line.
 */
export class UnitClient {
  /** Time spent in server calls, summed over workers. */
  ms = 0;

  readonly #issuer: IssueBatcher;

  constructor(private readonly api: UnitApi, private readonly gate: ServerGate, private readonly log: Logger,
    private readonly wait: RegistrationWait = {}) {
    this.#issuer = new IssueBatcher(api);
  }

  /**
   * The chip the work order's product carries (undefined when the API cannot say: a test double
   * without the route). A refusal (unknown work order, a station not allowed on it) stops the line.
   */
  async workOrderChip(workOrder: string): Promise<ChipKind | undefined> {
    const get = this.api.getWorkOrder?.bind(this.api);
    if (!get) return undefined;
    try {
      return (await this.call(() => get(workOrder))).chip;
    } catch (err) {
      if (err instanceof ApiError) throw new StopLine('error', `work order ${workOrder}: ${err.code}: ${err.message}`);
      throw err;
    }
  }

  /** Asks for the certificate; the same idempotency key on every retry, across runs; with the part's key-origin evidence when it has some. */
  async issue(req: { serial: string; publicKeyHex: string; workOrder: string; idempotencyKey: string; attestation?: KeyOriginEvidence }): Promise<UnitIssued> {
    try {
      // Below the gate: a batch that cannot reach the server fails each of its units, and each
      // unit's gate waits and sends it again (batched again with whoever is ready then).
      return await this.call(() => this.#issuer.issue({
        serial: req.serial, publicKey: req.publicKeyHex, workOrder: req.workOrder, idempotencyKey: req.idempotencyKey, ...(req.attestation ? { attestation: req.attestation } : {}),
      }));
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
   * backoff for a bounded time (each retry is an idempotent confirm), then comes back incomplete;
   * REGISTRY_REJECTED is incomplete at once. Any other refusal whose answer may have been lost is
   * settled by looking the unit up.
   */
  async confirm(serial: string, fingerprint: string): Promise<ConfirmResult> {
    const deadline = Date.now() + (this.wait.totalMs ?? 60_000);
    let delay = this.wait.initialDelayMs ?? 1000;
    try {
      for (;;) {
        try {
          const r = await this.call(() => this.api.confirmUnit(serial, fingerprint));
          return r.complete ? { complete: true } : incomplete('REGISTRATION_PENDING', `unit ${serial}: registrations not complete`);
        } catch (err) {
          if (!(err instanceof ApiError && err.code === 'REGISTRATION_PENDING')) throw err;
          if (Date.now() + delay > deadline) return incomplete('REGISTRATION_PENDING', err.message);
          this.log.info({ serial, delayMs: delay }, 'registrations pending, confirming again');
          await sleep(delay);
          delay = Math.min(delay * 2, this.wait.maxDelayMs ?? 10_000);
        }
      }
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      if (err.code === 'REGISTRY_REJECTED') return incomplete('REGISTRY_REJECTED', err.message);
      const u = await this.call(() => this.api.getUnit(serial)).catch(() => null);
      if (u?.status === 'confirmed' && u.fingerprintSha256 === fingerprint) return { complete: true };
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
