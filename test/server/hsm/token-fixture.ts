/**
 * Throw-away SoftHSM tokens for one test: a softhsm2.conf in t.testdir(), tokens initialised
 * through PKCS#11 (no PIN on a command line), module released again so stores can open it.
 */
import type { Test } from 'tap';
import { openPkcs11Module } from '../../../server/hsm/pkcs11-module.js';
import { initSoftHsmToken, randomPin, writeSoftHsmConf } from '../../../server/hsm/softhsm.js';

/** Paths and PINs of the tokens made. */
export interface TestTokens {
  conf: string;
  pin: string;
  soPin: string;
  labels: string[];
}

/** Creates tokens labelled `labels` (all sharing one user PIN) in a fresh folder. */
export function makeTokens(t: Test, labels: string[] = ['test-line']): TestTokens {
  const conf = writeSoftHsmConf(t.testdir());
  const pin = randomPin();
  const soPin = randomPin();
  const module = openPkcs11Module({ softhsmConf: conf });
  try {
    for (const label of labels) initSoftHsmToken(module, { label, soPin, userPin: pin });
  } finally {
    module.release();
  }
  return { conf, pin, soPin, labels };
}
