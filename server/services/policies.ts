/**
 * The issuance rules, step-ca sign-option style: an ordered list of small functions over a
 * snapshot of what the database holds for one request. Each either passes, throws a typed
 * refusal, or (the idempotent retry) names the already-issued unit to return instead.
 */
import { chipOfSerialHex, SERIAL_BYTES } from '../../common/chip-serial.js';
import { ConflictError, KeylineError, ValidationError } from '../../common/errors.js';
import type { ChipSerial } from '../../common/protocol/station-api.js';
import type { Actor } from '../../common/roles.js';
import type { UnitRecord, WorkOrderRecord } from '../store/store.js';
import type { KeyOrigin } from './key-origin.js';

/** One issuance request after its public key was parsed and checked on the curve. */
export interface IssueRequest {
  serial: ChipSerial;
  publicKey: Uint8Array;
  workOrder: string;
  idempotencyKey: string | null;
  /** What the request's key-origin evidence established (key-origin.ts); absent or null when it carried none. */
  keyOrigin?: KeyOrigin | null;
}

/** The request plus the rows the rules look at, read inside the deciding transaction. */
export interface IssueSnapshot {
  req: IssueRequest;
  station: string;
  workOrder: WorkOrderRecord | null;
  /** The unit already recorded under this serial, if any. */
  bySerial: UnitRecord | null;
  /** The unit already holding this public key, if any. */
  byKey: UnitRecord | null;
}

/** A rule: returns a unit to replay, or nothing to go on; throws to refuse. */
export type IssueRule = (s: IssueSnapshot) => UnitRecord | void;

function order(s: IssueSnapshot): WorkOrderRecord {
  if (!s.workOrder) throw new KeylineError('UNKNOWN_WORK_ORDER', `workOrder: '${s.req.workOrder}' does not exist`, { detail: { workOrder: s.req.workOrder } });
  return s.workOrder;
}

/** The work order must exist. */
export const checkWorkOrderExists: IssueRule = (s) => void order(s);

/** A closed work order issues nothing more. */
export const checkWorkOrderOpen: IssueRule = (s) => {
  if (order(s).status !== 'open') throw new KeylineError('WORK_ORDER_CLOSED', `workOrder: '${s.req.workOrder}' is closed`, { detail: { workOrder: s.req.workOrder } });
};

/**
 * When a work order names its stations, a station acts only on that order and its units (issue,
 * confirm, quarantine, read); other roles are not stations and pass. Shared by every service path.
 */
export function assertStationOnWorkOrder(actor: Actor, wo: WorkOrderRecord): void {
  if (actor.role !== 'station' || !wo.stations || wo.stations.includes(actor.id)) return;
  throw new KeylineError('STATION_NOT_ALLOWED', `station '${actor.id}' is not allowed on work order '${wo.id}'`, { detail: { station: actor.id, workOrder: wo.id } });
}

/** When the order names its stations, only those may issue on it. */
export const checkStationAllowed: IssueRule = (s) => assertStationOnWorkOrder({ id: s.station, role: 'station' }, order(s));

/**
 * A work order's units carry its chip (issue 15): the serial must be that chip's (18 hex digits
 * for an ATECC608, 36 for an SE050's unique id), and evidence, when sent, that chip's evidence.
 */
export const checkChip: IssueRule = (s) => {
  const wo = order(s);
  const chip = wo.chip ?? 'atecc608';
  if (chipOfSerialHex(s.req.serial) !== chip) {
    throw new ValidationError('INVALID_SERIAL', `serial: ${s.req.serial} is not an ${chip} serial (${SERIAL_BYTES[chip] * 2} hex digits), the chip of work order '${wo.id}'`,
      { detail: { field: 'serial', workOrder: wo.id, chip } });
  }
  const k = s.req.keyOrigin;
  if (k && k.chip !== chip) throw new KeylineError('ATTESTATION_INVALID', `attestation: ${k.format} evidence on work order '${wo.id}', whose chip is ${chip}`, { detail: { workOrder: wo.id, chip } });
};

/**
 * A work order with requireAttestation takes only units whose key-origin evidence verified
 * against a manufacturer root: none sent, or evidence that did not verify, is refused.
 */
export const checkKeyOrigin: IssueRule = (s) => {
  const wo = order(s);
  if (!wo.requireAttestation) return;
  const k = s.req.keyOrigin;
  if (k?.status === 'verified') return;
  const why = k ? `${k.status}: ${k.reason ?? ''}` : 'the request carries no evidence';
  throw new KeylineError('ATTESTATION_INVALID', `attestation: work order '${wo.id}' requires verified key-origin evidence; ${why}`, { detail: { workOrder: wo.id, status: k?.status ?? 'missing' } });
};

/**
 * One public key under two serials means one key burned into two chips (a clone or a broken
 * GenKey): refuse. The caller records this refusal in the audit log.
 */
export const checkKeyNotSeen: IssueRule = (s) => {
  if (s.byKey && s.byKey.serial !== s.req.serial) {
    throw new ConflictError('DUPLICATE_KEY', `publicKey: already recorded for unit ${s.byKey.serial}, refused for ${s.req.serial}`, { detail: { serial: s.req.serial, existingSerial: s.byKey.serial } });
  }
};

/**
 * A serial already issued: the very same request (key, work order and idempotency key) is a
 * safe retry and gets the same certificate; anything else is a conflict.
 */
export const checkSerialReplay: IssueRule = (s) => {
  const u = s.bySerial;
  if (!u) return;
  const sameKey = Buffer.compare(Buffer.from(u.publicKey), Buffer.from(s.req.publicKey)) === 0;
  if (sameKey && u.workOrder === s.req.workOrder && u.idempotencyKey !== null && u.idempotencyKey === s.req.idempotencyKey) {
    // A retry must not hand a station a certificate it would write to a chip that can never enroll.
    if (u.status === 'revoked') throw new KeylineError('UNIT_REVOKED', `serial: unit ${s.req.serial} was issued and then revoked`, { detail: { serial: s.req.serial } });
    return u;
  }
  throw new ConflictError('SERIAL_EXISTS', `serial: ${s.req.serial} already has a certificate${sameKey ? ' (retry without its idempotency key)' : ' for another key'}`, { detail: { serial: s.req.serial } });
};

/** Overproduction protection: never more certificates than the order's quota. */
export const checkQuota: IssueRule = (s) => {
  const wo = order(s);
  if (wo.issued >= wo.quota) throw new KeylineError('QUOTA_EXCEEDED', `workOrder: '${wo.id}' has issued its quota of ${wo.quota}`, { detail: { workOrder: wo.id, quota: wo.quota } });
};

/** The rules in the order they are applied (the first refusal wins). */
export const ISSUE_RULES: readonly IssueRule[] = [
  checkWorkOrderExists, checkWorkOrderOpen, checkStationAllowed, checkChip, checkKeyNotSeen, checkSerialReplay, checkKeyOrigin, checkQuota,
];

/** Applies the rules: `{ replay }` for a safe retry, `{}` to issue; throws the first refusal. */
export function evaluateIssue(s: IssueSnapshot, rules: readonly IssueRule[] = ISSUE_RULES): { replay?: UnitRecord } {
  for (const rule of rules) {
    const replay = rule(s);
    if (replay) return { replay };
  }
  return {};
}
