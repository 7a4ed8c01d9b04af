/**
 * Chooses the KeyStore implementation for a token address; every process (server, CLIs,
 * ceremony) opens its key store here and sees only the KeyStore interface it returns.
 */
import type { Logger } from '../../common/log.js';
import type { KeyStore } from './key-store.js';
import { Pkcs11KeyStore } from './pkcs11-key-store.js';

/** Where a token is: the `hsm` section of keyline.json has this shape. */
export interface TokenAddress {
  /** PKCS#11 module path; SoftHSM2's is found when absent. */
  module?: string | undefined;
  /** SoftHSM2's config file (development). */
  softhsmConf?: string | undefined;
  tokenLabel: string;
  /** Sign in a thread of its own (default true); false keeps signing in the event loop. */
  signerThread?: boolean | undefined;
}

/** Opens the PKCS#11 token at `at` and logs in with `pin`; `sessions` defaults to the number of cores. */
export function openKeyStore(at: TokenAddress, pin: string, opts: { sessions?: number | undefined; log?: Logger | undefined } = {}): KeyStore {
  return Pkcs11KeyStore.open({
    tokenLabel: at.tokenLabel, pin,
    ...(at.module ? { module: at.module } : {}), ...(at.softhsmConf ? { softhsmConf: at.softhsmConf } : {}),
    ...(opts.sessions ? { sessions: opts.sessions } : {}), ...(opts.log ? { log: opts.log } : {}),
    ...(at.signerThread === false ? { signerThread: false } : {}),
  });
}
