/**
 * The ATECC608 conformance suite (issue 14): every opcode and mode as cryptoauthlib frames it, on
 * unlocked, config-locked and fully locked parts, against any Transport (in-process and the kit
 * protocol over TCP run it unchanged, as transport.suite.ts does for the link).
 */
import type { Test } from 'tap';
import type { MakeTransport } from './fixtures.js';
import { basicSuite } from './suite-basic.js';
import { eccSuite } from './suite-ecc.js';
import { keysSuite } from './suite-keys.js';
import { symmetricSuite } from './suite-symmetric.js';

/** Runs the whole suite against `make`. */
export function conformanceSuite(t: Test, make: MakeTransport): void {
  basicSuite(t, make);
  symmetricSuite(t, make);
  eccSuite(t, make);
  keysSuite(t, make);
}
