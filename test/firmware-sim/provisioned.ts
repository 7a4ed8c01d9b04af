/**
 * Provisioned chips for the device simulator's tests: a soft-key root and issuing CA, the real
 * provisioning service over SQLite, and the station's in-process line run over blank emulated
 * chips; plus the firmware trust matching that CA's device profile and the issuing CA as an
 * Issuer (for the fake broker's TLS and config-signer certificates).
 */
import { join } from 'node:path';
import type { Test } from 'tap';
import type { Atecc608Chip } from '../../emulator/atecc608/chip.js';
import { toPem } from '../../common/pem.js';
import { createIssuingCa, createRootCa, type Issuer } from '../../server/ca/profiles.js';
import { createTemplateDeviceIssuer } from '../../server/ca/template-device-issuer.js';
import { createProvisioning } from '../../server/services/provisioning.js';
import { SqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import type { FirmwareTrust } from '../../firmware-sim/firmware-trust.js';
import { createSoftSigner } from '../helpers/soft-signer.js';
import { blankChips, runOver, type Backend } from '../station/harness.js';

/** A backend, provisioned chips, the matching firmware trust and the issuing CA. */
export interface Provisioned {
  backend: Backend;
  chips: Atecc608Chip[];
  trust: FirmwareTrust;
  issuing: Issuer;
}

/** Provisions `n` chips through the station line against an in-process backend. */
export async function provisionChips(t: Test, n: number): Promise<Provisioned> {
  const rootSigner = createSoftSigner(undefined, 'soft:root');
  const issuingSigner = createSoftSigner(undefined, 'soft:issuing');
  const root = await createRootCa({ signer: rootSigner, org: 'Keyline Test' });
  const issuingCert = await createIssuingCa({ root: { signer: rootSigner, cert: root }, subjectSpki: await issuingSigner.publicKeySpki(), org: 'Keyline Test' });
  const issuingDer = new Uint8Array(issuingCert.rawData);
  const urls = { crlUrl: 'http://127.0.0.1/crl', ocspUrl: 'http://127.0.0.1/ocsp' };
  const issuer = createTemplateDeviceIssuer({ signer: issuingSigner, issuingCaDer: issuingDer, ...urls, validityYears: 0 });
  const store = new SqliteStore(join(t.testdir(), 'server.db'));
  t.teardown(() => store.close());
  const prov = createProvisioning({ store, issuer });
  await prov.createWorkOrder({ id: 'WO-1', product: 'Sensor', quota: 1000 }, 'admin');
  const rootDer = new Uint8Array(root.rawData);
  const backend: Backend = { prov, store, rootPem: toPem(rootDer), chainPem: toPem(issuingDer) + toPem(rootDer), down: { remaining: 0 }, pauses: [], issued: { singles: 0, batches: [] } };
  const chips = blankChips(n);
  const run = await runOver(backend, chips, join(t.testdir(), 'journal.db'), { target: n });
  if (run.result.good !== n) throw new Error(`provisioning failed: ${run.err}`);
  const trust: FirmwareTrust = { rootCertPem: backend.rootPem, issuingCertPem: toPem(issuingDer), product: 'Sensor', validityYears: 0, ...urls };
  return { backend, chips, trust, issuing: { signer: issuingSigner, cert: issuingCert } };
}
