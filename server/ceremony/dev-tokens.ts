/**
 * The dev ceremony's two SoftHSM tokens: the root's, standing for the offline token of a real
 * ceremony, and the line token the server signs with. PINs are random and live in 0600 files
 * (dev only); they never reach argv or a log.
 */
import type { Pkcs11Module } from '../hsm/pkcs11-module.js';
import type { KeyStore } from '../hsm/key-store.js';
import { openKeyStore } from '../hsm/open-key-store.js';
import { initSoftHsmToken, randomPin, writeSoftHsmConf } from '../hsm/softhsm.js';
import { writeSecret, type DevCeremony } from './dev-ceremony.js';

/** The root token's label. */
export const ROOT_TOKEN = 'keyline-root';
/** The line token's label (the one the server config names). */
export const LINE_TOKEN = 'keyline-line';

/** Where the tokens are and how to open them. */
export interface DevTokens {
  softhsmConf: string;
  module?: string | undefined;
  pins: { root: string; line: string };
  /** The security officers' PINs, needed only to initialise the tokens. */
  soPins: { root: string; line: string };
  rootPinPath: string;
  linePinPath: string;
}

/** Writes the SoftHSM config and the PIN files under `tokens/`. */
export function writeTokenFiles(c: DevCeremony, module: string | undefined): DevTokens {
  const softhsmConf = writeSoftHsmConf(c.path('tokens'));
  const pins = { root: randomPin(), line: randomPin() };
  const soPins = { root: randomPin(), line: randomPin() };
  writeSecret(c.path('tokens/root.pin'), pins.root);
  writeSecret(c.path('tokens/line.pin'), pins.line);
  writeSecret(c.path('tokens/root.so.pin'), soPins.root);
  writeSecret(c.path('tokens/line.so.pin'), soPins.line);
  return { softhsmConf, module, pins, soPins, rootPinPath: c.path('tokens/root.pin'), linePinPath: c.path('tokens/line.pin') };
}

/** Initialises both tokens in the loaded module, one audit event each. */
export async function initTokens(c: DevCeremony, pkcs11: Pkcs11Module, t: DevTokens): Promise<void> {
  for (const [label, so, user] of [[ROOT_TOKEN, t.soPins.root, t.pins.root], [LINE_TOKEN, t.soPins.line, t.pins.line]] as const) {
    initSoftHsmToken(pkcs11, { label, soPin: so, userPin: user });
    c.say(`token '${label}' initialised`);
    await c.record('ceremony.token.init', label, { softhsmConf: t.softhsmConf });
  }
}

/** Opens one of the two tokens with a single session (the ceremony signs one thing at a time). */
export function openToken(t: DevTokens, which: 'root' | 'line'): KeyStore {
  const tokenLabel = which === 'root' ? ROOT_TOKEN : LINE_TOKEN;
  return openKeyStore({ module: t.module, softhsmConf: t.softhsmConf, tokenLabel }, t.pins[which], { sessions: 1 });
}
