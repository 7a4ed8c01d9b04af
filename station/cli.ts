/**
 * `keyline station run` (the line) and `keyline station report` (the journal as CSV).
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { KeylineError } from '../common/errors.js';
import { intFlag, parseCommand, runCli, UsageError } from '../common/cli.js';
import { createLogger } from '../common/log.js';
import { StationApiClient, loadIdentity } from './api-client.js';
import { CertChecker } from './cert-check.js';
import { keylineProfile } from './chip-steps.js';
import { KitHidChipSource, parseEndpoints, type ChipSource } from './chip-source.js';
import { openEmulatorSource } from './emulator-source.js';
import { DEFAULT_CONFIG_FILE, loadStationConfig, type StationConfig } from './config.js';
import { Journal } from './journal.js';
import { runLine } from './line.js';
import { Progress } from './progress.js';
import { writeReport } from './report.js';

const RUN_USAGE = `Usage: keyline station run --work-order ID --count N (--emulator HOST:PORT | --hid) [options]

Provisions units on either secure element the work order's product names (ATECC608 or SE050):
prepares each blank chip (608: config zone written and locked; SE050: P-256 and the counter
object), generates its key inside the chip, has the server sign it (an SE050 sends its attested
read of the new key as key-origin evidence), writes the certificates back (608: compressed in
slots; SE050: DER in read-only binary objects), verifies them, locks them and confirms the unit.
Progress is journaled after every step: run the same command again after a crash and the line
resumes where it stopped. A chip of another kind than the work order's is quarantined untouched
(CHIP_MISMATCH).

Options:
  --work-order ID     the work order to provision against (required)
  --count N           good units wanted for this work order in this station's journal (earlier
                      runs count, so a rerun finishes the job) (required)
  --emulator H:P      take chips from emulator endpoints (keyline emulator serve); several
                      as H:P,H:P, a port range as H:FIRST-LAST. Each endpoint says which chip it
                      serves: one probe that an ATECC608 kit server answers in ASCII and a
                      JRCP v1 server (SE050, one card per port) with a TERMINAL_INFO message
  --hid               take chips from Microchip USB kits over HID (one chip per kit)
  --parallel P        chips provisioned at once (default 1)
  --config FILE       keyline.json with a station section (default ${DEFAULT_CONFIG_FILE})
  --server URL        override station.serverUrl
  --retry-max S       longest wait between retries while the server is unreachable (default 30)
  --json              print a machine-readable summary as the last stdout line
  -h, --help          show this help

Output: one label line per good unit on stdout ("label serial=... fingerprint=..."); progress
on stderr (a live bar on a terminal, plain lines otherwise).
Ctrl-C finishes the units in progress and stops (a second Ctrl-C quits at once; the journal
keeps every step either way).
Exit status: 0 target reached, 3 stopped by the work order's quota, 4 no chips left before the
target, 130 interrupted, 1 any other stop.

Test only: KEYLINE_STATION_CRASH_AT=<step>:<n> kills the process (SIGKILL) right after the n-th
unit reaches <step> (started, configured, keyed, issued-unrecorded, issued, written, verified,
locked, confirmed-unrecorded, confirmed); used by the kill-and-resume tests, never on a line.`;

const REPORT_USAGE = `Usage: keyline station report [--out FILE] [--config FILE] [--work-order ID]

Exports the station journal as CSV, one row per unit: serial, work order, status, last step,
reason, possible clone, fingerprint, certificate serial, public key and timestamps.

Options:
  --out FILE        write to FILE instead of stdout
  --config FILE     keyline.json with a station section (default ${DEFAULT_CONFIG_FILE})
  --work-order ID   only this work order's units
  -h, --help        show this help`;

const USAGE = `Usage: keyline station <run|report> [options]

  run      provision units on the line
  report   export the station journal as CSV

Run \`keyline station <subcommand> --help\` for its options.`;

const EXIT = { done: 0, 'quota-exceeded': 3, 'no-chips': 4, interrupted: 130, error: 1 } as const;

/** Entry point for `keyline station ...`. */
export async function main(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (!sub || sub === '--help' || sub === '-h') {
    process.stdout.write(USAGE + '\n');
    return sub ? 0 : 2;
  }
  if (sub === 'run') return runCli(() => run(rest));
  if (sub === 'report') return runCli(() => report(rest));
  process.stderr.write(`keyline station: unknown subcommand '${sub}'\n\n${USAGE}\n`);
  return 2;
}

async function run(argv: string[]): Promise<number> {
  const args = parseCommand(argv, {
    usage: RUN_USAGE,
    options: {
      'work-order': { type: 'string' },
      count: { type: 'string' },
      emulator: { type: 'string' },
      hid: { type: 'boolean' },
      parallel: { type: 'string' },
      config: { type: 'string' },
      server: { type: 'string' },
      'retry-max': { type: 'string' },
      json: { type: 'boolean' },
    },
  });
  if (!args) return 0;
  const v = args.values;
  if (!v['work-order']) throw new UsageError(`--work-order is required\n\n${RUN_USAGE}`);
  if (v.count === undefined) throw new UsageError(`--count is required\n\n${RUN_USAGE}`);
  if (!v.emulator === !v.hid) throw new UsageError(`give exactly one of --emulator HOST:PORT or --hid\n\n${RUN_USAGE}`);
  const target = intFlag('count', v.count, 0, 1, 10_000_000);
  const parallel = intFlag('parallel', v.parallel, 1, 1, 256);
  const retryMaxMs = intFlag('retry-max', v['retry-max'], 30, 1, 3600) * 1000;
  const cfg = loadStationConfig(v.config ?? DEFAULT_CONFIG_FILE);
  const endpoints = v.emulator ? parseEndpoints(v.emulator) : [];
  // The progress display is the operator's view of each unit; at the default level the log
  // keeps to warnings (pauses, quarantines) so its lines do not bury the bar.
  const log = createLogger({ name: 'station', level: cfg.logLevel === 'info' ? 'warn' : cfg.logLevel });

  mkdirSync(dirname(cfg.journalFile), { recursive: true });
  const journal = new Journal(cfg.journalFile);
  const api = new StationApiClient({
    ...loadIdentity({ baseUrl: v.server ?? cfg.serverUrl, certFile: cfg.certFile, keyFile: cfg.keyFile, caFile: cfg.rootCertFile }),
    maxSockets: parallel,
    timeoutMs: 15_000,
  });
  let source: ChipSource | undefined;
  try {
    const checker = new CertChecker(readFileSync(cfg.rootCertFile, 'utf8'));
    source = endpoints.length ? (await openEmulatorSource(endpoints)).source : await KitHidChipSource.open();
    const progress = new Progress({ target, alreadyGood: journal.countGood(v['work-order']), err: process.stderr, out: process.stdout });
    // Ctrl-C: finish the units on the chips now (each stops at a journaled step anyway), take no
    // more; a second Ctrl-C quits at once, and the next run resumes from the journal.
    const ac = new AbortController();
    const onSigint = () => {
      progress.event('stopping: finishing the units in progress (Ctrl-C again to quit now)');
      ac.abort();
      process.once('SIGINT', () => process.exit(130));
    };
    process.once('SIGINT', onSigint);
    const result = await runLine(
      { api, journal, checker, profile: keylineProfile(), source, progress, log, onStep: crashHook(cfg) },
      { workOrder: v['work-order'], station: cfg.id, target, parallel, retry: { maxDelayMs: retryMaxMs }, signal: ac.signal },
    ).finally(() => process.off('SIGINT', onSigint));
    // The summary carries where the time went (server calls vs chip steps, summed over workers).
    progress.finish(result, v.json ?? false);
    return EXIT[result.stopReason];
  } finally {
    await source?.close();
    api.close();
    journal.close();
  }
}

/** The test-only crash hook (KEYLINE_STATION_CRASH_AT): SIGKILL, so nothing gets to clean up. */
function crashHook(cfg: StationConfig): ((step: string) => void) | undefined {
  const at = cfg.crashAt;
  if (!at) return undefined;
  let seen = 0;
  return (step) => {
    if (step === at.step && ++seen === at.n) process.kill(process.pid, 'SIGKILL');
  };
}

async function report(argv: string[]): Promise<number> {
  const args = parseCommand(argv, {
    usage: REPORT_USAGE,
    options: { out: { type: 'string' }, config: { type: 'string' }, 'work-order': { type: 'string' } },
  });
  if (!args) return 0;
  const v = args.values;
  const cfg = loadStationConfig(v.config ?? DEFAULT_CONFIG_FILE);
  if (!existsSync(cfg.journalFile)) throw new KeylineError('STORE_ERROR', `no station journal at ${cfg.journalFile} (station.journal in ${cfg.file})`);
  const journal = new Journal(cfg.journalFile);
  try {
    const n = writeReport(journal, { ...(v.out ? { out: v.out } : {}), ...(v['work-order'] ? { workOrder: v['work-order'] } : {}), stdout: process.stdout });
    if (v.out) process.stderr.write(`wrote ${n} units to ${v.out}\n`);
    return 0;
  } finally {
    journal.close();
  }
}
