/**
 * What every step of the development ceremony writes through: the out folder, one progress line
 * and one audit event per step. Keeping them in one place is what makes each step a short
 * function rather than a stretch of a long one.
 */
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { KeylineError } from '../../common/errors.js';
import { toPem } from '../../common/pem.js';
import type * as x509 from '../../common/x509.js';
import type { CeremonyEvent } from './ceremony-event.js';

/** Files and folders that make up a PKI in the out folder (removed by --force). */
export const PKI_ARTIFACTS = ['tokens', 'keyline.json', 'root-ca.pem', 'root-ca.crl', 'issuing-ca.pem', 'server.pem', 'server.key.pem', 'keyline.db', 'keyline.db-wal', 'keyline.db-shm', 'ocsp-responder.pem',
  'officer-01.pem', 'officer-01.key.pem', 'operator-01.pem', 'operator-01.key.pem', 'auditor-01.pem', 'auditor-01.key.pem'];

const ACTOR = 'ceremony:dev';

/** The ceremony's out folder, clock, organisation and reporting. */
export interface DevCeremony {
  /** The out folder, absolute. */
  readonly out: string;
  readonly org: string;
  readonly now: Date;
  /** The absolute path of a file in the out folder. */
  path(file: string): string;
  /** One human-readable progress line. */
  say(line: string): void;
  /** One audit event, by the dev ceremony's actor. */
  record(action: string, subject: string, detail?: Record<string, unknown>): Promise<void>;
}

/** The context of one run; `record` and `progress` default to doing nothing. */
export function devCeremony(o: { out: string; org: string; now: Date; record?: (e: CeremonyEvent) => Promise<void>; progress?: (line: string) => void }): DevCeremony {
  return {
    out: o.out, org: o.org, now: o.now,
    path: (f) => join(o.out, f),
    say: o.progress ?? (() => {}),
    record: (action, subject, detail) => (o.record ? o.record({ action, actor: ACTOR, subject, ...(detail ? { detail } : {}) }) : Promise.resolve()),
  };
}

/**
 * Makes the out folder ready: refuses with PKI_EXISTS if any of `artifacts` is there, unless
 * `force`, which removes them first. The tokens folder is 0700: it will hold the PIN files.
 */
export function prepareOutDir(c: DevCeremony, artifacts: string[], force: boolean): void {
  const present = artifacts.filter((f) => existsSync(c.path(f)));
  if (present.length > 0 && !force) {
    throw new KeylineError('PKI_EXISTS', `a PKI already exists in ${c.out} (${present.join(', ')}); pass --force to destroy it and build a new one`, { detail: { out: c.out, present } });
  }
  for (const f of present) rmSync(c.path(f), { recursive: true, force: true });
  if (present.length) c.say(`removed the previous PKI in ${c.out} (--force)`);
  mkdirSync(c.path('tokens'), { recursive: true, mode: 0o700 });
}

/** Writes a key or PIN file readable by its owner only (dev only: production keys stay in tokens). */
export function writeSecret(path: string, text: string): void {
  writeFileSync(path, text.endsWith('\n') ? text : `${text}\n`, { mode: 0o600 });
}

/** A certificate as PEM text. */
export function pemOf(c: x509.X509Certificate): string {
  return toPem(new Uint8Array(c.rawData));
}
