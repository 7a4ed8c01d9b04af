/**
 * What every registry harness of the contract suite (registry.suite.ts) starts from: a throw-away
 * PKI with a soft issuing key, a SQLite file in the test's directory with work order WO-1 naming
 * the registry, and units issued through the real pipeline with the DER-template issuer, so each
 * unit carries a real device certificate (CN = serial, O = product) that AWS and DPS can parse.
 */
import { join } from 'node:path';
import type { Test } from 'tap';
import { silentLogger } from '../../../common/log.js';
import { chipSerial as chipSerialSchema } from '../../../common/protocol/station-api.js';
import { createTemplateDeviceIssuer } from '../../../server/ca/template-device-issuer.js';
import { createIssuePipeline } from '../../../server/services/issue-units.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import type { UnitRecord } from '../../../server/store/store.js';
import { makeTestPki, type TestPki } from '../../secure-element/atcacert/ca-fixture.js';
import { chipSerial, p256Key } from '../services/helpers.js';

/** The common part of a registry fixture. */
export interface RegistryBase {
  pki: TestPki;
  store: SqliteStore;
  /** The test's directory (t.testdir() wipes it when called again: fakes put their files here). */
  dir: string;
  /** Issues `n` units on WO-1 and returns their records (their register jobs are queued). */
  units(n: number): Promise<UnitRecord[]>;
}

// One PKI per test process: building it is the slow part, and no test changes it.
let pkiP: Promise<TestPki> | undefined;

/** Builds the base for registry `registry`; the store is closed at teardown. */
export async function registryBase(t: Test, registry: string): Promise<RegistryBase> {
  const pki = await (pkiP ??= makeTestPki());
  const dir = t.testdir();
  const store = new SqliteStore(join(dir, 'keyline.db'));
  t.teardown(() => store.close());
  await store.transaction((tx) => tx.workOrders.create({
    id: 'WO-1', product: 'Sensor', quota: 100, stations: null, createdAt: '2026-01-01T00:00:00.000Z', registries: [registry],
  }));
  const issuer = createTemplateDeviceIssuer({ signer: pki.signer, issuingCaDer: pki.issuingDer, validityYears: 10 });
  const issueUnits = createIssuePipeline({ store, issuer, now: () => new Date(), log: silentLogger });
  return {
    pki, store, dir,
    async units(n) {
      // Serials as the API boundary hands them on: parsed by the protocol schema.
      const reqs = Array.from({ length: n }, () => ({ serial: chipSerialSchema.parse(chipSerial()), publicKey: p256Key().raw, workOrder: 'WO-1', idempotencyKey: null }));
      const outcomes = await issueUnits(reqs, 'station-1');
      return Promise.all(outcomes.map(async (o) => {
        if (!o.ok) throw new Error(`issue failed: ${o.error.message}`);
        return (await store.transaction((tx) => tx.units.getBySerial(o.value.serial), { readOnly: true }))!;
      }));
    },
  };
}
