/**
 * The station's configuration: the `station` section and `ca.rootCert` of the same keyline.json
 * that `keyline ceremony init --dev` writes. A station never needs the HSM PIN, so this reads the
 * file with its own schema instead of server/config.ts' loadConfig (which resolves secrets). The
 * only reader of process.env in the station.
 */
import { readFileSync } from 'node:fs';
import { dirname, isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { KeylineError } from '../common/errors.js';

/** Where `keyline station` looks when no --config is given. */
export const DEFAULT_CONFIG_FILE = 'certs-dev/keyline.json';

const stationSection = z
  .object({
    id: z.string().min(1),
    serverUrl: z.url(),
    cert: z.string().min(1),
    key: z.string().min(1),
    journal: z.string().default('station-journal.db'),
  })
  .strict();

/** The parts of keyline.json a station reads; other sections pass through unchecked. */
const stationFileSchema = z.object({
  station: stationSection,
  ca: z.object({ rootCert: z.string().default('root-ca.pem') }).loose().prefault({}),
  log: z.object({ level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info') }).loose().prefault({}),
});

/** A crash point for the kill-and-resume tests: SIGKILL the process the n-th time `step` is reached. */
export interface CrashPoint {
  step: string;
  n: number;
}

/** The validated station configuration, paths absolute. */
export interface StationConfig {
  readonly file: string;
  readonly id: string;
  readonly serverUrl: string;
  readonly certFile: string;
  readonly keyFile: string;
  readonly rootCertFile: string;
  readonly journalFile: string;
  readonly logLevel: string;
  /** TEST ONLY (KEYLINE_STATION_CRASH_AT=<step>:<n>): never set on a real line. */
  readonly crashAt?: CrashPoint;
}

/**
 * Environment overrides: KEYLINE_STATION_SERVER_URL, KEYLINE_STATION_JOURNAL, KEYLINE_LOG_LEVEL,
 * and the test-only KEYLINE_STATION_CRASH_AT.
 */
const ENV_OVERRIDES: Record<string, [section: string, field: string]> = {
  KEYLINE_STATION_SERVER_URL: ['station', 'serverUrl'],
  KEYLINE_STATION_JOURNAL: ['station', 'journal'],
  KEYLINE_LOG_LEVEL: ['log', 'level'],
};

/** Loads and validates the station's view of keyline.json; throws CONFIG_INVALID naming every problem. */
export function loadStationConfig(file: string = DEFAULT_CONFIG_FILE, env: NodeJS.ProcessEnv = process.env): StationConfig {
  const path = resolve(file);
  let raw: Record<string, Record<string, unknown>>;
  try {
    raw = JSON.parse(readFileSync(path, 'utf8'));
  } catch (err) {
    throw new KeylineError('CONFIG_INVALID', `cannot read station config ${path}: ${(err as Error).message}`, { cause: err });
  }
  for (const [name, [section, field]] of Object.entries(ENV_OVERRIDES)) {
    const v = env[name];
    if (v === undefined) continue;
    raw[section] ??= {};
    raw[section]![field] = v;
  }
  const parsed = stationFileSchema.safeParse(raw);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.') || '(root)'}: ${i.message}`);
    throw new KeylineError('CONFIG_INVALID', `invalid station config ${path}:\n${lines.join('\n')}`);
  }
  const base = dirname(path);
  const abs = (p: string) => (isAbsolute(p) ? p : resolve(base, p));
  const { station, ca, log } = parsed.data;
  const crashAt = parseCrashAt(env.KEYLINE_STATION_CRASH_AT);
  return Object.freeze({
    file: path,
    id: station.id,
    serverUrl: station.serverUrl,
    certFile: abs(station.cert),
    keyFile: abs(station.key),
    rootCertFile: abs(ca.rootCert),
    journalFile: abs(station.journal),
    logLevel: log.level,
    ...(crashAt ? { crashAt } : {}),
  });
}

/** Parses `<step>:<n>` (n ≥ 1); a malformed value is a configuration error, not silently ignored. */
export function parseCrashAt(value: string | undefined): CrashPoint | undefined {
  if (value === undefined || value === '') return undefined;
  const m = /^([a-z-]+):([1-9][0-9]*)$/.exec(value);
  if (!m) throw new KeylineError('CONFIG_INVALID', `KEYLINE_STATION_CRASH_AT must be <step>:<n>, got '${value}'`);
  return { step: m[1]!, n: Number(m[2]) };
}
