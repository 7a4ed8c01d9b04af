/**
 * Record builders with overrides (outline's buildUser style) for store and service tests.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { UnitRecord, WorkOrderRecord } from '../../../server/store/store.js';

let counter = 0;

/** A unit record with unique serial, key, fingerprint and certificate serial unless overridden. */
export function buildUnit(over: Partial<UnitRecord> = {}): UnitRecord {
  counter++;
  const der = randomBytes(40);
  return {
    serial: '0123' + counter.toString(16).toUpperCase().padStart(12, '0') + 'EE',
    publicKey: randomBytes(64),
    fingerprintSha256: createHash('sha256').update(der).digest('hex'),
    certificateDer: der,
    certificateSerial: randomBytes(16).toString('hex'),
    workOrder: 'WO-1',
    station: 'station-01',
    status: 'issued',
    statusReason: null,
    idempotencyKey: null,
    issuedAt: '2026-01-01T00:00:00.000Z',
    confirmedAt: null,
    updatedAt: '2026-01-01T00:00:00.000Z',
    ...over,
  };
}

/** A new work order (fields the repo's create takes). */
export function buildWorkOrder(over: Partial<WorkOrderRecord> = {}): Omit<WorkOrderRecord, 'issued' | 'status'> {
  return { id: 'WO-1', product: 'Sensor', quota: 10, stations: null, createdAt: '2026-01-01T00:00:00.000Z', ...over };
}
