/**
 * The shared dev-PKI fixture: runs `keyline ceremony init --dev` (in-process) into t.testdir()
 * and returns every path plus the config, for integration tests of the server, station and
 * devices. SoftHSM reads SOFTHSM2_CONF per process, so open stores from one PKI at a time.
 */
import { join } from 'node:path';
import type { Test } from 'tap';
import type { CeremonyEvent } from '../../server/ceremony/ceremony-event.js';
import { initDevPki, type DevPki, type InitDevOptions } from '../../server/ceremony/init-dev.js';

/** A dev PKI made for one test, with the ceremony's audit events. */
export interface TestPki extends DevPki {
  events: CeremonyEvent[];
}

/** Builds the whole dev PKI (tokens, root, issuing CA, station and server identities, keyline.json) in t.testdir(). */
export async function makeDevPki(t: Test, opts: Partial<Omit<InitDevOptions, 'out' | 'record'>> = {}): Promise<TestPki> {
  const events: CeremonyEvent[] = [];
  const pki = await initDevPki({ ...opts, out: join(t.testdir(), 'pki'), record: async (e) => void events.push(e) });
  return { ...pki, events };
}
