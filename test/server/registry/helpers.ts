/**
 * Shared set-up for the registry tests: a real SQLite file, a work order, units issued through
 * the real issuance pipeline (with the fake certificate issuer of the service tests).
 */
import { join } from 'node:path';
import pino from 'pino';
import type { OutboxRound } from '../../../server/registry/outbox-worker.js';
import { createIssuePipeline } from '../../../server/services/issue-units.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import { chipSerial, fakeIssuer, p256Key } from '../services/helpers.js';

/** A fresh store on a file in `dir`, with work order WO-1 naming `registries`. */
export async function storeWithOrder(dir: string, registries?: string[]): Promise<SqliteStore> {
  const store = new SqliteStore(join(dir, 'keyline.db'));
  await store.transaction((tx) => tx.workOrders.create({
    id: 'WO-1', product: 'Sensor', quota: 100, stations: null, createdAt: '2026-01-01T00:00:00.000Z',
    ...(registries ? { registries } : {}),
  }));
  return store;
}

/** Issues `n` units on a work order (WO-1) through the real pipeline; returns their outcomes. */
export async function issue(store: SqliteStore, n: number, workOrder = 'WO-1') {
  const issueUnits = createIssuePipeline({ store, issuer: fakeIssuer(), now: () => new Date('2026-01-02T00:00:00Z'), log: pino({ level: 'silent' }) });
  const reqs = Array.from({ length: n }, () => ({ serial: chipSerial(), publicKey: p256Key().raw, workOrder, idempotencyKey: null }));
  return issueUnits(reqs, 'station-1');
}

/** An outbox round with the given counts and zero elsewhere. */
export function round(r: Partial<OutboxRound>): OutboxRound {
  return { delivered: 0, awaiting: 0, retried: 0, throttled: 0, parked: 0, ...r };
}
