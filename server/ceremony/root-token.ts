/**
 * The root token as the offline steps open it: a PKCS#11 module, a token label and a PIN read
 * from a file (never argv, never a log), one session. The root key is addressed by its label
 * (`root-ca` unless told otherwise) inside that token.
 */
import { resolve } from 'node:path';
import { KeylineError } from '../../common/errors.js';
import type { KeyStore } from '../hsm/key-store.js';
import { openKeyStore } from '../hsm/open-key-store.js';
import { formatPkcs11Uri } from '../hsm/pkcs11-uri.js';
import { readOption } from './sign-csr.js';

/** The root key's label when none is given. */
export const ROOT_KEY_LABEL = 'root-ca';

/** Where the root token is. */
export interface RootTokenOptions {
  /** PKCS#11 module path; SoftHSM2's is found when absent. */
  module?: string | undefined;
  /** SoftHSM2's config file (rehearsals and development). */
  softhsmConf?: string | undefined;
  token: string;
  pinFile: string;
  keyLabel?: string | undefined;
}

/** The root token, opened and logged in, with the root key's reference. */
export interface RootToken {
  store: KeyStore;
  keyRef: string;
  keyLabel: string;
}

/** Opens the root token with one session (the ceremony signs one thing at a time). */
export function openRootToken(o: RootTokenOptions): RootToken {
  const pin = readOption(o.pinFile, '--pin-file').trim();
  if (!pin) throw new KeylineError('VALIDATION_FAILED', `--pin-file: ${o.pinFile} is empty`);
  const keyLabel = o.keyLabel ?? ROOT_KEY_LABEL;
  const store = openKeyStore({ module: o.module, softhsmConf: o.softhsmConf && resolve(o.softhsmConf), tokenLabel: o.token }, pin, { sessions: 1 });
  return { store, keyLabel, keyRef: formatPkcs11Uri({ token: o.token, object: keyLabel }) };
}

/** The command-line options every root step shares (parseArgs form) and their usage lines. */
export const ROOT_TOKEN_OPTIONS = {
  module: { type: 'string' }, token: { type: 'string' }, 'pin-file': { type: 'string' }, 'softhsm-conf': { type: 'string' }, 'key-label': { type: 'string' },
} as const;

/** Usage lines of ROOT_TOKEN_OPTIONS. */
export const ROOT_TOKEN_USAGE = `  --module PATH        the root token's PKCS#11 module (default: SoftHSM2's)
  --token LABEL        the root token's label (required)
  --pin-file FILE      a file holding the root token's user PIN (required; never on the command line)
  --softhsm-conf FILE  SoftHSM2's config file (rehearsals and development)
  --key-label LABEL    the root key's label in the token (default ${ROOT_KEY_LABEL})`;
