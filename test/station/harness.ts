/**
 * A line in one process for the station's logic tests: the real provisioning service (SQLite
 * store, DER-template issuer) behind an API adapter that throws the client's ApiError, emulated
 * chips over the in-process transport, and a real journal file. No HTTP, no SoftHSM: those are
 * covered by the end-to-end test.
 */
import { join } from 'node:path';
import type { Test } from 'tap';
import { ERROR_TABLE, KeylineError, type ErrorCode } from '../../common/errors.js';
import { toPem } from '../../common/pem.js';
import type { UnitBatchResponse, UnitIssueBody, UnitIssued, UnitView } from '../../common/protocol/station-api.js';
import { createBlankChip, type BlankChipOptions } from '../../emulator/atecc608/factory.js';
import type { Atecc608Chip } from '../../emulator/atecc608/chip.js';
import { createIssuingCa, createRootCa } from '../../server/ca/profiles.js';
import { createTemplateDeviceIssuer } from '../../server/ca/template-device-issuer.js';
import { createProvisioning, type Provisioning } from '../../server/services/provisioning.js';
import { SqliteStore } from '../../server/store/sqlite/sqlite-store.js';
import { ApiError } from '../../station/api-client.js';
import { CertChecker } from '../../station/cert-check.js';
import { keylineProfile } from '../../station/chip-steps.js';
import { InProcessChipSource } from '../../station/chip-source.js';
import { Journal } from '../../station/journal.js';
import { runLine, type LineDeps, type LineOptions, type LineResult } from '../../station/line.js';
import { Progress } from '../../station/progress.js';
import { createSoftSigner } from '../helpers/soft-signer.js';
import type { Actor } from '../../common/roles.js';
import { issueReq } from '../helpers/requests.js';
import type { LinePause } from '../../common/protocol/operations.js';

/** The PKI and server side shared by the tests of one file. */
export interface Backend {
  prov: Provisioning;
  store: SqliteStore;
  rootPem: string;
  chainPem: string;
  /** Test switches: make the next `n` calls fail as if the server were down. */
  down: { remaining: number };
  /** Pauses the line reported once the server answered again (POST /v1/line/pauses). */
  pauses: LinePause[];
  /** Issue requests the line made: single units, and batches with how many units they carried. */
  issued: { singles: number; batches: number[] };
}

/** Builds a root, an issuing CA (soft keys) and the provisioning service over a SQLite file. */
export async function makeBackend(t: Test, opts: { quota?: number; workOrder?: string } = {}): Promise<Backend> {
  const rootSigner = createSoftSigner(undefined, 'soft:root');
  const issuingSigner = createSoftSigner(undefined, 'soft:issuing');
  const root = await createRootCa({ signer: rootSigner, org: 'Keyline Test' });
  const issuingSpki = await issuingSigner.publicKeySpki();
  const issuing = await createIssuingCa({ root: { signer: rootSigner, cert: root }, subjectSpki: issuingSpki, org: 'Keyline Test' });
  const issuingDer = new Uint8Array(issuing.rawData);
  const issuer = createTemplateDeviceIssuer({ signer: issuingSigner, issuingCaDer: issuingDer, crlUrl: 'http://127.0.0.1/crl', ocspUrl: 'http://127.0.0.1/ocsp', validityYears: 0 });
  const store = new SqliteStore(join(t.testdir(), 'server.db'));
  t.teardown(() => store.close());
  const prov = createProvisioning({ store, issuer });
  await prov.createWorkOrder({ id: opts.workOrder ?? 'WO-1', product: 'Sensor', quota: opts.quota ?? 1000 }, 'admin');
  const rootDer = new Uint8Array(root.rawData);
  return { prov, store, rootPem: toPem(rootDer), chainPem: toPem(issuingDer) + toPem(rootDer), down: { remaining: 0 }, pauses: [], issued: { singles: 0, batches: [] } };
}

/** Maps service errors to what the HTTP client would throw. */
async function asApi<T>(b: Backend, fn: () => Promise<T>): Promise<T> {
  if (b.down.remaining > 0) {
    b.down.remaining--;
    throw new KeylineError('SERVER_UNREACHABLE', 'connect ECONNREFUSED (test)');
  }
  try {
    return await fn();
  } catch (err) {
    if (err instanceof KeylineError) throw new ApiError(err.code, err.message, ERROR_TABLE[err.code as ErrorCode]?.http ?? 500, err.detail);
    throw err;
  }
}

/** The station API over the in-process service, as station `station`. */
export function apiFor(b: Backend, station = 'station-01'): LineDeps['api'] {
  const view = (u: UnitView) => u;
  const actor: Actor = { id: station, role: 'station' };
  return {
    issueUnit: (req) =>
      asApi(b, async (): Promise<UnitIssued> => {
        // Parsed as the route parses it.
        const r = await b.prov.issueUnit(issueReq(req), station);
        b.issued.singles++;
        return { serial: r.serial, certificatePem: toPem(r.certificateDer), chainPem: b.chainPem, fingerprintSha256: r.fingerprintSha256, certificateSerial: r.certificateSerial };
      }),
    // As POST /v1/units:batch answers (routes/units.ts): one result per unit, the chain once.
    issueBatch: (units) =>
      asApi(b, async (): Promise<UnitBatchResponse> => {
        const results = await b.prov.issueBatch(units.map((u) => issueReq(u as UnitIssueBody)), station);
        b.issued.batches.push(units.length);
        return {
          chainPem: b.chainPem,
          results: results.map((r, i) => (r.ok
            ? { ok: true as const, serial: r.value.serial, certificatePem: toPem(r.value.certificateDer), fingerprintSha256: r.value.fingerprintSha256, certificateSerial: r.value.certificateSerial }
            : { ok: false as const, serial: (units[i] as { serial?: string }).serial, error: { code: r.error.code, message: r.error.message, ...(r.error.detail ? { detail: r.error.detail } : {}) } })),
        };
      }),
    confirmUnit: (serial, fp) => asApi(b, () => b.prov.confirmUnit(serial, { fingerprintSha256: fp }, actor)),
    quarantineUnit: (serial, reason) => asApi(b, async () => view(await b.prov.quarantineUnit(serial, reason, actor))),
    getUnit: (serial) => asApi(b, async () => view(await b.prov.getUnit(serial, actor))),
    reportPause: (p) => asApi(b, async () => void b.pauses.push(p)),
  };
}

/** Blank chips with options. */
export function blankChips(n: number, opts: BlankChipOptions = {}): Atecc608Chip[] {
  return Array.from({ length: n }, () => createBlankChip(opts));
}

/** Collected output of one run. */
export interface RunOutput {
  result: LineResult;
  out: string;
  err: string;
}

/** Runs the line over `chips` with a journal at `journalFile`. */
export async function runOver(
  b: Backend,
  chips: Atecc608Chip[],
  journalFile: string,
  opts: { target: number; parallel?: number; workOrder?: string; onStep?: LineDeps['onStep']; api?: LineDeps['api']; profile?: LineDeps['profile']; source?: LineDeps['source']; signal?: AbortSignal; crashAt?: { step: string; n: number }; registrationWait?: LineOptions['registrationWait'] },
): Promise<RunOutput> {
  const journal = new Journal(journalFile);
  let onStep = opts.onStep;
  if (opts.crashAt) {
    // A crash as far as the journal and the chips can tell: the journal takes no write after
    // this point (closed), and the run dies.
    const at = opts.crashAt;
    let seen = 0;
    onStep = (step) => {
      if (step === at.step && ++seen === at.n) {
        journal.close();
        throw new Error(`simulated crash after ${step}`);
      }
    };
  }
  let out = '';
  let err = '';
  const workOrder = opts.workOrder ?? 'WO-1';
  try {
    const progress = new Progress({
      target: opts.target,
      alreadyGood: journal.countGood(workOrder),
      out: { write: (s: string) => (out += s) },
      err: { write: (s: string) => (err += s) },
    });
    const result = await runLine(
      {
        api: opts.api ?? apiFor(b), journal, checker: new CertChecker(b.rootPem), profile: opts.profile ?? keylineProfile(),
        source: opts.source ?? new InProcessChipSource(chips), progress, ...(onStep ? { onStep } : {}),
      },
      { workOrder, station: 'station-01', target: opts.target, parallel: opts.parallel ?? 2, retry: { initialDelayMs: 20, maxDelayMs: 80 }, ...(opts.signal ? { signal: opts.signal } : {}),
        ...(opts.registrationWait ? { registrationWait: opts.registrationWait } : {}) },
    );
    return { result, out, err };
  } finally {
    journal.close();
  }
}
