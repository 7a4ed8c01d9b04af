/**
 * Provisioned chips for the device simulator's unit tests: the station's in-process line
 * (soft-key CA, SQLite provisioning service) run over blank emulated chips, and the firmware
 * trust that matches that CA's device profile.
 */
import { join } from 'node:path';
import type { Test } from 'tap';
import type { Atecc608Chip } from '../../emulator/atecc608/chip.js';
import { fromPemAll, toPem } from '../../common/pem.js';
import { blankChips, makeBackend, runOver, type Backend } from '../station/harness.js';
import type { FirmwareTrust } from '../../firmware-sim/firmware-trust.js';

/** A backend, `n` provisioned chips and the matching firmware trust. */
export interface Provisioned {
  backend: Backend;
  chips: Atecc608Chip[];
  trust: FirmwareTrust;
}

/** Provisions `n` chips through the station line against an in-process backend. */
export async function provisionChips(t: Test, n: number): Promise<Provisioned> {
  const backend = await makeBackend(t);
  const chips = blankChips(n);
  const run = await runOver(backend, chips, join(t.testdir(), 'journal.db'), { target: n });
  if (run.result.good !== n) throw new Error(`provisioning failed: ${run.err}`);
  const [issuingDer] = fromPemAll(backend.chainPem);
  const trust: FirmwareTrust = {
    rootCertPem: backend.rootPem, issuingCertPem: toPem(issuingDer!), product: 'Sensor', validityYears: 0,
    crlUrl: 'http://127.0.0.1/crl', ocspUrl: 'http://127.0.0.1/ocsp',
  };
  return { backend, chips, trust };
}
