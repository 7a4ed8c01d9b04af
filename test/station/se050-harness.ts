/**
 * The SE050 side of the station's in-process harness (harness.ts): the real provisioning service
 * with the chip-device issuer (SE050 units get the plain-DER profile) and the process's test
 * manufacturer root trusted for key-origin evidence; emulated SE050 cards whose attestation
 * certificates chain to that root; the station API adapter answering GET /v1/work-orders/:id too,
 * so the line checks each part's chip against its work order.
 */
import { join } from 'node:path';
import type { Test } from 'tap';
import { ERROR_TABLE, KeylineError, type ErrorCode } from '../../common/errors.js';
import { toPem } from '../../common/pem.js';
import type { Se050Chip } from '../../emulator/se050/chip.js';
import { createChipDeviceIssuer } from '../../server/ca/chip-device-issuer.js';
import { createDerDeviceIssuer } from '../../server/ca/der-device-issuer.js';
import { createIssuingCa, createRootCa } from '../../server/ca/profiles.js';
import { createTemplateDeviceIssuer } from '../../server/ca/template-device-issuer.js';
import { createProvisioning } from '../../server/services/provisioning.js';
import { SqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import { ApiError } from '../../station/api-client.js';
import type { LineDeps } from '../../station/line.js';
import { newChip, testRoot } from '../emulator/se050/helpers.js';
import { createSoftSigner } from '../helpers/soft-signer.js';
import { apiFor, type Backend } from './harness.js';

/** Work orders of every SE050 backend: se050, se050 requiring evidence, and an ATECC608 one. */
export const WO = { se050: 'WO-SE', required: 'WO-SE-REQ', atecc608: 'WO-608' } as const;

/** A backend issuing for both chips, trusting the test manufacturer root. */
export async function makeSe050Backend(t: Test, opts: { quota?: number } = {}): Promise<Backend> {
  const rootSigner = createSoftSigner(undefined, 'soft:root');
  const issuingSigner = createSoftSigner(undefined, 'soft:issuing');
  const root = await createRootCa({ signer: rootSigner, org: 'Keyline Test' });
  const issuing = await createIssuingCa({ root: { signer: rootSigner, cert: root }, subjectSpki: await issuingSigner.publicKeySpki(), org: 'Keyline Test' });
  const issuingDer = new Uint8Array(issuing.rawData);
  const o = { signer: issuingSigner, issuingCaDer: issuingDer, crlUrl: 'http://127.0.0.1/crl', ocspUrl: 'http://127.0.0.1/ocsp', validityYears: 0 };
  const issuer = createChipDeviceIssuer({ atecc608: createTemplateDeviceIssuer(o), se050: createDerDeviceIssuer(o) });
  const store = new SqliteStore(join(t.testdir(), 'server.db'));
  t.teardown(() => store.close());
  const prov = createProvisioning({ store, issuer, manufacturerRoots: [(await testRoot()).certDer] });
  const quota = opts.quota ?? 1000;
  await prov.createWorkOrder({ id: WO.se050, product: 'Sensor', quota, chip: 'se050' }, 'admin');
  await prov.createWorkOrder({ id: WO.required, product: 'Sensor', quota, chip: 'se050', requireAttestation: true }, 'admin');
  await prov.createWorkOrder({ id: WO.atecc608, product: 'Sensor', quota }, 'admin');
  const rootDer = new Uint8Array(root.rawData);
  return { prov, store, rootPem: toPem(rootDer), chainPem: toPem(issuingDer) + toPem(rootDer), down: { remaining: 0 }, pauses: [], issued: { singles: 0, batches: [] } };
}

/** The station API over the backend, with GET /v1/work-orders/:id as the station sees it. */
export function se050ApiFor(b: Backend, station = 'station-01'): LineDeps['api'] {
  return {
    ...apiFor(b, station),
    getWorkOrder: async (id) => {
      try {
        return await b.prov.getWorkOrder(id, { id: station, role: 'station' });
      } catch (err) {
        if (err instanceof KeylineError) throw new ApiError(err.code, err.message, ERROR_TABLE[err.code as ErrorCode]?.http ?? 500);
        throw err;
      }
    },
  };
}

/** Fresh SE050 cards (applet 3.1 unless told), chained to the test manufacturer root. */
export function se050Chips(n: number, applet: '3.1' | '7.2' = '3.1'): Promise<Se050Chip[]> {
  return Promise.all(Array.from({ length: n }, () => newChip(applet)));
}

/** A card's unique id as the journal and the server write it. */
export const uidOf = (c: Se050Chip) => Buffer.from(c.uid).toString('hex').toUpperCase();
