/**
 * Chooses the KeyStore implementation from the `hsm` config section; the composition root calls
 * this and sees only the KeyStore it returns.
 */
import type { Config } from '../config.js';
import type { Logger } from '../../common/log.js';
import { Pkcs11KeyStore } from './pkcs11-key-store.js';

/** Opens the PKCS#11 key store the config names (module, SoftHSM conf, token, pool size). */
export async function openKeyStore(hsm: Config['hsm'], pin: string, log?: Logger): Promise<Pkcs11KeyStore> {
  return Pkcs11KeyStore.open({ module: hsm.module, softhsmConf: hsm.softhsmConf, tokenLabel: hsm.tokenLabel, pin, sessions: hsm.sessions, log });
}
