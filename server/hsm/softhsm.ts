/**
 * Development and test helpers for SoftHSM2: a softhsm2.conf for a token folder, and token
 * initialisation through PKCS#11 (C_InitToken, C_InitPIN) from Node, so PINs never appear on a
 * process listing as they would with `softhsm2-util --pin`.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import pkcs11js from 'pkcs11js';
import { HsmError } from '../../common/errors.js';
import type { Pkcs11Module } from './pkcs11-module.js';
import { toHsmError } from './pkcs11-error.js';

/**
 * Writes `<dir>/softhsm2.conf` with tokens in `<dir>/store` and returns the conf path. The token
 * folder is absolute because SoftHSM resolves it against the process's working directory.
 */
export function writeSoftHsmConf(dir: string): string {
  const abs = resolve(dir);
  const store = join(abs, 'store');
  mkdirSync(store, { recursive: true, mode: 0o700 });
  const conf = join(abs, 'softhsm2.conf');
  writeFileSync(conf, [
    '# SoftHSM2 configuration written by keyline (development tokens only)',
    `directories.tokendir = ${store}`,
    'objectstore.backend = file',
    'log.level = ERROR',
    'slots.removable = false',
    '',
  ].join('\n'), { mode: 0o600 });
  return conf;
}

/** A random PIN (hex) for development tokens. */
export function randomPin(bytes = 12): string {
  return randomBytes(bytes).toString('hex');
}

/**
 * Initialises a fresh token labelled `label` in the module's free slot and sets its user PIN.
 * SoftHSM always offers one uninitialised slot; PKCS#11 v2.40 §5.6 C_InitToken, then C_InitPIN
 * in an SO session.
 */
export function initSoftHsmToken(module: Pkcs11Module, opts: { label: string; soPin: string; userPin: string }): void {
  const p11 = module.p11;
  if (opts.label.length > 32) throw new HsmError('HSM_ERROR', `token label '${opts.label}' is longer than 32 characters (CK_TOKEN_INFO.label)`);
  if (module.tokenLabels().includes(opts.label)) throw new HsmError('HSM_KEY_EXISTS', `a token labelled '${opts.label}' already exists`);
  const free = p11.C_GetSlotList(true).find((s) => {
    try {
      return (p11.C_GetTokenInfo(s).flags & pkcs11js.CKF_TOKEN_INITIALIZED) === 0;
    } catch {
      return false; // a token deleted under the module (softhsm2-util --delete-token) answers CKR_GENERAL_ERROR
    }
  });
  if (!free) throw new HsmError('HSM_ERROR', `no uninitialised slot to create token '${opts.label}'`);
  try {
    p11.C_InitToken(free, opts.soPin, opts.label.padEnd(32, ' '));
  } catch (err) {
    throw toHsmError(err, `C_InitToken '${opts.label}'`);
  }
  const slot = module.findSlot(opts.label);
  const session = p11.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION | pkcs11js.CKF_RW_SESSION);
  try {
    p11.C_Login(session, pkcs11js.CKU_SO, opts.soPin);
    p11.C_InitPIN(session, opts.userPin);
    p11.C_Logout(session);
  } catch (err) {
    throw toHsmError(err, `setting the user PIN of token '${opts.label}'`);
  } finally {
    p11.C_CloseSession(session);
  }
}
