/**
 * The production line: P workers, each taking chips from the source and running one unit through
 * the six steps of issue 4. Every step is committed to the journal before the next one starts,
 * so a station killed anywhere resumes the unit from the chip and the journal: the key is never
 * regenerated once the server may have seen it, the sign request is retried with the same
 * idempotency key, and a unit counts as good only after the server confirmed it.
 */
import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { KeylineError, SecureElementError } from '../common/errors.js';
import { silentLogger, type Logger } from '../common/log.js';
import { toPem } from '../common/pem.js';
import type { CertChecker, PreparedCertificates } from './cert-check.js';
import {
  configureChip, generateKey, inspectChip, lockSlots, readCertificates, readPublicKey, writeCertificates, type ProvisioningProfile,
} from './chip-steps.js';
import { chipDecision, type ChipLease, type ChipSource } from './chip-source.js';
import { STEPS, type Journal, type Step, type UnitRecord } from './journal.js';
import type { Progress, RunSummary } from './progress.js';
import { ServerGate } from './server-gate.js';
import { faultText, RegistrationIncomplete, StopLine, UnitFault, UnitServer, type RegistrationWait, type UnitApi } from './unit-server.js';

/** What the line is built from (all injected; the CLI builds the real ones). */
export interface LineDeps {
  api: UnitApi;
  journal: Journal;
  checker: CertChecker;
  profile: ProvisioningProfile;
  source: ChipSource;
  progress: Progress;
  log?: Logger;
  /** Called after each step is journaled (and at the two "server answered, not yet journaled" points). */
  onStep?: (step: string, serial: string) => void;
}

/** What to make. */
export interface LineOptions {
  workOrder: string;
  station: string;
  /** Good units of this work order wanted in the journal (earlier runs count). */
  target: number;
  parallel: number;
  retry?: { initialDelayMs?: number; maxDelayMs?: number };
  /** How long a confirm waits out REGISTRATION_PENDING before the unit is left pending (default 60 s). */
  registrationWait?: RegistrationWait;
  /** Aborted by the operator (Ctrl-C): units in progress finish, no new chip is taken. */
  signal?: AbortSignal;
}

/** The run's outcome, with where the time went (summed over workers). */
export interface LineResult extends RunSummary {
  timing: { serverMs: number; chipMs: number; unitMs: number; units: number };
}

type Outcome = 'good' | 'quarantined' | 'skipped' | 'pending';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Runs the line until the target, the quota, the chips or a fatal error ends it. */
export async function runLine(deps: LineDeps, opts: LineOptions): Promise<LineResult> {
  const { journal, progress } = deps;
  const log = deps.log ?? silentLogger;
  let stop = null as { reason: RunSummary['stopReason']; message?: string } | null;
  let good = journal.countGood(opts.workOrder);
  let inFlight = 0;
  let exhausted = false;
  const timing = { chipMs: 0, unitMs: 0, units: 0 };
  const gate = new ServerGate({
    ...opts.retry,
    onPause: (msg) => {
      progress.pause(msg);
      log.warn({ workOrder: opts.workOrder }, msg);
    },
    onResume: () => progress.resume(),
    aborted: () => stop !== null,
  });

  const server = new UnitServer(deps.api, gate, log, opts.registrationWait);
  const chip = async <T>(fn: () => Promise<T>): Promise<T> => {
    const t = performance.now();
    try {
      return await fn();
    } finally {
      timing.chipMs += performance.now() - t;
    }
  };

  async function unit(lease: ChipLease): Promise<Outcome> {
    const dev = lease.device;
    let facts;
    try {
      facts = await chip(() => inspectChip(dev));
    } catch (err) {
      // No serial, no journal entry: the part cannot even be identified; it goes to the reject bin.
      progress.failed++;
      progress.event(`rejected ${lease.where}: cannot read the chip (${faultText(err)})`);
      return 'skipped';
    }
    const serial = facts.serialHex;
    const decision = chipDecision(facts, journal.get(serial), opts.workOrder);
    if ('skip' in decision) {
      log.debug({ serial, where: lease.where }, `skipped: ${decision.skip}`);
      return 'skipped';
    }
    let rec = journal.begin(serial, opts.workOrder, opts.station);
    const done = (s: Step) => STEPS.indexOf(rec.step) >= STEPS.indexOf(s);
    const advance = (s: Step, fields?: Parameters<Journal['advance']>[2]) => {
      journal.advance(serial, s, fields);
      rec = journal.get(serial)!;
      deps.onStep?.(s, serial);
    };
    if (decision.take === 'new') deps.onStep?.('started', serial);
    let certificateIssued = done('issued');
    try {
      // Step 1: config zone checked, written and locked; data zone locked.
      if (!done('configured')) {
        await chip(() => configureChip(dev, deps.profile, facts));
        advance('configured');
      }
      // Step 2: the key. Once the public key and idempotency key are journaled, the server may
      // have seen them: from then on the key is only ever re-read, never generated again.
      let publicKey: Uint8Array;
      if (!done('keyed')) {
        publicKey = await chip(() => generateKey(dev, deps.profile));
        advance('keyed', { publicKey: hex(publicKey), idempotencyKey: randomUUID() });
      } else {
        publicKey = await chip(() => readPublicKey(dev, deps.profile));
        if (hex(publicKey) !== rec.publicKey) throw new UnitFault('the key in the chip is not the key the journal recorded');
      }
      // Step 3: the certificate.
      let prepared: PreparedCertificates;
      if (!done('issued')) {
        const issued = await server.issue({ serial, publicKeyHex: hex(publicKey), workOrder: opts.workOrder, idempotencyKey: rec.idempotencyKey! });
        certificateIssued = true;
        deps.onStep?.('issued-unrecorded', serial);
        prepared = prepare(issued, serial, publicKey);
        advance('issued', {
          issued: { certificateDer: prepared.deviceDer, chainPem: issued.chainPem, fingerprintSha256: issued.fingerprintSha256, certificateSerial: issued.certificateSerial },
        });
      } else {
        prepared = prepare({ certificatePem: toPem(rec.certificateDer!), chainPem: rec.chainPem! }, serial, publicKey);
      }
      // Step 4: write, read back, rebuild, compare byte for byte (before anything is locked in).
      if (!done('written')) {
        await chip(() => writeCertificates(dev, deps.profile, prepared.chip, facts));
        advance('written');
      }
      if (!done('verified')) {
        const read = await chip(() => readCertificates(dev, deps.profile));
        try {
          deps.checker.checkReadBack(read, prepared, facts.serial, publicKey);
        } catch (err) {
          throw new UnitFault(`read-back check failed: ${faultText(err)}`);
        }
        advance('verified');
      }
      // Step 5: lock per the slot map.
      if (!done('locked')) {
        await chip(() => lockSlots(dev, deps.profile, facts));
        advance('locked');
      }
      // Step 6: confirm; only then is the unit good and labelled.
      await server.confirm(serial, rec.fingerprintSha256!);
      deps.onStep?.('confirmed-unrecorded', serial);
      advance('confirmed');
      progress.unitGood(serial, rec.fingerprintSha256!);
      log.info({ serial, workOrder: opts.workOrder, fingerprint: rec.fingerprintSha256 }, 'unit good');
      return 'good';
    } catch (err) {
      if (err instanceof StopLine) {
        journal.pend(serial, err.message);
        throw err;
      }
      if (err instanceof RegistrationIncomplete) {
        // Written, locked and confirmed, but not known to every registry: never counted good;
        // pending with the code (journal and report), confirmed again by a later run.
        journal.pend(serial, err.message);
        progress.event(`not complete ${serial}: ${err.message}`);
        log.warn({ serial, workOrder: opts.workOrder, code: err.code }, `unit not complete: ${err.message}`);
        return 'pending';
      }
      const partFault = err instanceof UnitFault || err instanceof SecureElementError || (err instanceof KeylineError && isPartCode(err.code));
      if (!partFault) {
        journal.pend(serial, faultText(err));
        throw err;
      }
      if (lease.linkDown?.()) {
        // The kit link failed, not the chip: the unit waits, resumable, for a later run.
        const reason = `kit link lost at ${lease.where}: ${faultText(err)}`;
        journal.pend(serial, reason);
        const again = lease.requeue?.() ?? false;
        progress.event(`paused ${serial}: ${reason}${again ? '; it will be taken again' : ''}`);
        log.warn({ serial, workOrder: opts.workOrder }, reason);
        return 'pending';
      }
      const possibleClone = err instanceof UnitFault && err.possibleClone;
      const reason = err instanceof UnitFault ? err.message : faultText(err);
      journal.quarantine(serial, reason, { possibleClone });
      // Once the sign request may have left (step keyed), the server may hold a certificate for
      // this part, even one this station never recorded: it must not count as shippable there either.
      if (certificateIssued || done('keyed')) await server.quarantine(serial, reason);
      progress.unitFailed(serial, reason, possibleClone);
      log.warn({ serial, workOrder: opts.workOrder, possibleClone }, `unit quarantined: ${reason}`);
      return 'quarantined';
    }
  }

  function prepare(issued: { certificatePem: string; chainPem: string }, serial: string, publicKey: Uint8Array): PreparedCertificates {
    try {
      return deps.checker.prepare(issued, serial, publicKey);
    } catch (err) {
      throw new UnitFault(`issued certificate rejected: ${faultText(err)}`);
    }
  }

  async function worker(index: number): Promise<void> {
    while (stop === null && !exhausted && good + inFlight < opts.target) {
      inFlight++;
      let lease: ChipLease | null = null;
      const t = performance.now();
      try {
        lease = await deps.source.next(index);
        if (!lease) {
          exhausted = true;
          continue;
        }
        const outcome = await unit(lease);
        if (outcome === 'good') good++;
        if (outcome !== 'skipped') {
          timing.units++;
          timing.unitMs += performance.now() - t;
        }
      } catch (err) {
        // Every worker may hit the same stop (all meet the quota at once): the first one tells.
        if (stop === null) {
          stop = err instanceof StopLine ? { reason: err.reason, message: err.message } : { reason: 'error', message: faultText(err) };
          if (stop.reason === 'quota-exceeded') log.info({ workOrder: opts.workOrder }, `line stopped: ${stop.message}`);
          else log.error({ workOrder: opts.workOrder, err: faultText(err) }, 'line stopped');
        }
      } finally {
        inFlight--;
        await lease?.release().catch(() => undefined);
      }
    }
  }

  const interrupt = () => (stop ??= { reason: 'interrupted', message: 'interrupted by the operator' });
  if (opts.signal?.aborted) interrupt();
  opts.signal?.addEventListener('abort', interrupt, { once: true });
  await Promise.all(Array.from({ length: Math.max(1, opts.parallel) }, (_, i) => worker(i)));
  opts.signal?.removeEventListener('abort', interrupt);
  const stopReason: RunSummary['stopReason'] = stop?.reason ?? (good >= opts.target ? 'done' : 'no-chips');
  if (stop?.message) progress.event(`line stopped: ${stop.message}`);
  const quarantined = journal.list().filter((u: UnitRecord) => u.workOrder === opts.workOrder && u.status === 'quarantined');
  const elapsed = progress.elapsedSeconds();
  return {
    workOrder: opts.workOrder,
    station: opts.station,
    target: opts.target,
    good,
    goodThisRun: progress.goodThisRun,
    quarantined: quarantined.length,
    possibleClones: quarantined.filter((u) => u.possibleClone).length,
    stopReason,
    elapsedSeconds: Math.round(elapsed * 1000) / 1000,
    unitsPerHour: Math.round(progress.rate()),
    quarantinedUnits: quarantined.map((u) => ({ serial: u.serial, reason: u.reason ?? '', possibleClone: u.possibleClone })),
    timing: { ...timing, serverMs: server.ms },
  };
}

/** Error codes that condemn the part rather than the line (chip, kit and certificate faults). */
function isPartCode(code: string): boolean {
  return code.startsWith('ATCA_') || code.startsWith('ATCACERT_') || code === 'KIT_PROTOCOL_ERROR' || code === 'CHAIN_INVALID' || code === 'VALIDATION_FAILED';
}
