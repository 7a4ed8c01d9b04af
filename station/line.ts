/**
 * The production line: P workers, each taking chips from the source and running one unit through
 * the six steps of issue 4. Every step is committed to the journal before the next one starts,
 * so a station killed anywhere resumes the unit from the chip and the journal: the key is never
 * regenerated once the server may have seen it, the sign request is retried with the same
 * idempotency key, and a unit counts as good only after the server confirmed it.
 */
import { performance } from 'node:perf_hooks';
import type { ChipKind } from '../common/chip-serial.js';
import { silentLogger, type Logger } from '../common/log.js';
import type { CertChecker } from './cert-check.js';
import type { ProvisioningProfile } from './chip-steps.js';
import type { ChipLease, ChipSource } from './chip-source.js';
import type { Journal } from './journal.js';
import type { Progress, RunSummary } from './progress.js';
import { provisionUnit } from './provision-unit.js';
import { ServerGate } from './server-gate.js';
import type { LineContext } from './unit-context.js';
import { faultText, StopLine } from './line-signals.js';
import { UnitClient, type RegistrationWait, type UnitApi } from './unit-client.js';
import type { StationApiClient } from './api-client.js';

/** What the line is built from (all injected; the CLI builds the real ones). */
export interface LineDeps {
  /** The server; `reportPause` when it can take pause reports (the console shows them). */
  api: UnitApi & Partial<Pick<StationApiClient, 'reportPause'>>;
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
  /** The work order's chip; by default asked of the server (GET /v1/work-orders/:id) when the API can. */
  workOrderChip?: ChipKind;
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

/** Runs the line until the target, the quota, the chips or a fatal error ends it. */
export async function runLine(deps: LineDeps, opts: LineOptions): Promise<LineResult> {
  const { journal, progress } = deps;
  const log = deps.log ?? silentLogger;
  let stop = null as { reason: RunSummary['stopReason']; message?: string } | null;
  let good = journal.countGood(opts.workOrder);
  let inFlight = 0;
  let exhausted = false;
  const timing = { chipMs: 0, unitMs: 0, units: 0 };
  const client = lineClient(deps, opts, log, () => stop !== null);
  const line: LineContext = {
    journal, progress, client, log, checker: deps.checker, profile: deps.profile,
    workOrder: opts.workOrder, station: opts.station, onStep: deps.onStep, timing,
  };
  // Which chip the work order's parts must be, asked once before any chip is touched.
  try {
    const chip = opts.workOrderChip ?? (await client.workOrderChip(opts.workOrder));
    if (chip) line.workOrderChip = chip;
  } catch (err) {
    stop = err instanceof StopLine ? { reason: err.reason, message: err.message } : { reason: 'error', message: faultText(err) };
    log.error({ workOrder: opts.workOrder, err: stop.message }, 'line stopped');
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
        const outcome = await provisionUnit(line, lease);
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
  return { ...summarise(deps, opts, good, stopReason), timing: { ...timing, serverMs: client.ms } };
}

/** The line's server conversations, behind one gate that pauses and resumes every worker together. */
function lineClient(deps: LineDeps, opts: LineOptions, log: Logger, stopping: () => boolean): UnitClient {
  // The first pause of an outage and why: reported once the server answers again (the console's alert).
  let paused: { since: string; reason: string } | undefined;
  const gate = new ServerGate({
    ...opts.retry,
    onPause: (msg) => {
      paused ??= { since: new Date().toISOString(), reason: msg };
      deps.progress.pause(msg);
      log.warn({ workOrder: opts.workOrder }, msg);
    },
    onResume: () => {
      deps.progress.resume();
      const p = paused;
      paused = undefined;
      // Best effort: the report is for people watching the line; the line does not wait for it.
      if (p && deps.api.reportPause) {
        deps.api.reportPause({ workOrder: opts.workOrder, since: p.since, until: new Date().toISOString(), reason: p.reason })
          .catch((err: unknown) => log.warn({ err, workOrder: opts.workOrder }, 'pause report not delivered'));
      }
    },
    // A stopping line gives up on a dead server instead of waiting for it.
    aborted: stopping,
  });
  return new UnitClient(deps.api, gate, log, opts.registrationWait);
}

/** The run's counts from the journal (earlier runs of the work order included) and the progress. */
function summarise(deps: LineDeps, opts: LineOptions, good: number, stopReason: RunSummary['stopReason']): RunSummary {
  const { journal, progress } = deps;
  const quarantined = journal.list().filter((u) => u.workOrder === opts.workOrder && u.status === 'quarantined');
  return {
    workOrder: opts.workOrder,
    station: opts.station,
    target: opts.target,
    good,
    goodThisRun: progress.goodThisRun,
    quarantined: quarantined.length,
    possibleClones: quarantined.filter((u) => u.possibleClone).length,
    stopReason,
    elapsedSeconds: Math.round(progress.elapsedSeconds() * 1000) / 1000,
    unitsPerHour: Math.round(progress.rate()),
    quarantinedUnits: quarantined.map((u) => ({ serial: u.serial, reason: u.reason ?? '', possibleClone: u.possibleClone })),
  };
}
