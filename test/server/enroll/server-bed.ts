/**
 * Integration fixtures for enrollment against the real server (SoftHSM, SQLite, HTTPS station
 * API): chips provisioned through the real station API by the station's line code, and the
 * server's database opened beside it for work orders and assertions.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Test } from 'tap';
import type { Atecc608Chip } from '../../../emulator/atecc608/chip.js';
import { createProvisioning } from '../../../server/services/provisioning.js';
import { SqliteStore } from '../../../server/store/sqlite/sqlite-store.js';
import { StationApiClient, loadIdentity } from '../../../station/api-client.js';
import type { TestPki } from '../../helpers/pki.js';
import { blankChips, runOver, type Backend } from '../../station/harness.js';

/** The server's database, opened by the test (WAL: the server keeps its own connection). */
export function openServerStore(t: Test, pki: TestPki): SqliteStore {
  const store = new SqliteStore(join(pki.outDir, 'keyline.db'));
  t.teardown(() => store.close());
  return store;
}

/** Creates a work order and provisions `n` blank chips through the station API at `apiUrl`. */
export async function provisionViaServer(t: Test, pki: TestPki, store: SqliteStore, apiUrl: string, n: number, workOrder = 'WO-E'): Promise<Atecc608Chip[]> {
  // Work orders are a security officer's act; the test writes them through the service itself.
  await createProvisioning({ store, issuer: { issue: () => Promise.reject(new Error('not here')) } }).createWorkOrder({ id: workOrder, product: 'Sensor', quota: n }, 'officer:test');
  const api = new StationApiClient(loadIdentity({ baseUrl: apiUrl, certFile: pki.stationCertPath, keyFile: pki.stationKeyPath, caFile: pki.rootCertPath }));
  t.teardown(() => api.close());
  const chips = blankChips(n);
  const backend = { rootPem: readFileSync(pki.rootCertPath, 'utf8') } as Backend;
  const run = await runOver(backend, chips, join(pki.outDir, `journal-${workOrder}.db`), { target: n, workOrder, api });
  if (run.result.good !== n) throw new Error(`provisioning failed: ${run.err}`);
  return chips;
}
