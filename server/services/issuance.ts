/**
 * What both steps of issuance share (issue-units.ts decides and signs, record-units.ts records):
 * the result types, the batch's rows as the rules see them, and the small conversions between.
 */
import { KeylineError } from '../../common/errors.js';
import type { Logger } from '../../common/log.js';
import type { DeviceIssuer } from '../ca/device-issuer.js';
import type { Store, Tx, UnitRecord, WorkOrderRecord } from '../store/store.js';
import type { IssueRequest, IssueSnapshot } from './policies.js';

/** What a caller gets for one issued (or replayed) unit. */
export interface IssueResult {
  serial: string;
  certificateDer: Uint8Array;
  fingerprintSha256: string;
  certificateSerial: string;
  /** True when this is the earlier certificate returned to an idempotent retry. */
  replayed: boolean;
}

/** One unit's outcome in a batch. */
export type UnitOutcome = { ok: true; value: IssueResult } | { ok: false; error: KeylineError };

/** Dependencies of the issuance pipeline. */
export interface IssueDeps {
  store: Store;
  issuer: DeviceIssuer;
  now: () => Date;
  log: Logger;
}

/** A batch's rows, read with two statements: orders by id, units by serial and by key (hex). */
export interface BatchRows {
  orders: Map<string, WorkOrderRecord>;
  bySerial: Map<string, UnitRecord>;
  byKey: Map<string, UnitRecord>;
}

/** A raw public key as the hex the batch's rows are keyed by. */
export const keyHex = (k: Uint8Array): string => Buffer.from(k.buffer, k.byteOffset, k.byteLength).toString('hex');

/** Reads the rows the rules need for a batch of requests. */
export async function readRows(tx: Tx, reqs: IssueRequest[]): Promise<BatchRows> {
  const [orders, units] = await Promise.all([
    tx.workOrders.getMany(reqs.map((r) => r.workOrder)),
    tx.units.findBySerialsOrKeys(reqs.map((r) => r.serial), reqs.map((r) => r.publicKey)),
  ]);
  return {
    orders: new Map(orders.map((o) => [o.id, o])),
    bySerial: new Map(units.map((u) => [u.serial, u])),
    byKey: new Map(units.map((u) => [keyHex(u.publicKey), u])),
  };
}

/** The snapshot `snapshot()` would read for one request, taken from a batch's rows. */
export const snapshotOf = (rows: BatchRows, req: IssueRequest, station: string): IssueSnapshot => ({
  req, station, workOrder: rows.orders.get(req.workOrder) ?? null, bySerial: rows.bySerial.get(req.serial) ?? null, byKey: rows.byKey.get(keyHex(req.publicKey)) ?? null,
});

/** Any failure as a KeylineError (INTERNAL when it was not one). */
export const asError = (err: unknown): KeylineError =>
  err instanceof KeylineError ? err : new KeylineError('INTERNAL', 'issuance failed', { cause: err });

/** The earlier certificate, returned to an idempotent retry. */
export const replayOf = (u: UnitRecord): UnitOutcome => ({
  ok: true,
  value: { serial: u.serial, certificateDer: u.certificateDer, fingerprintSha256: u.fingerprintSha256, certificateSerial: u.certificateSerial, replayed: true },
});
