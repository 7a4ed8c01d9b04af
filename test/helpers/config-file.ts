/**
 * Config tests: the smallest valid configuration file, and a loader that writes a variant of it
 * to a file of its own and loads it as `keyline server` would (secrets left unresolved).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadConfigWithoutSecrets } from '../../server/config.js';

/** The smallest configuration the loader accepts. */
export const MINIMAL_CONFIG = {
  hsm: { tokenLabel: 'line', pin: { env: 'PIN' }, issuingKey: 'pkcs11:token=line;object=issuing-ca' },
  ca: { crlUrl: 'http://h/crl/issuing.crl', ocspUrl: 'http://h/ocsp' },
};

/** A loader writing each configuration to a new file in `dir`. */
export function configLoader(dir: string): (cfg: unknown, env?: NodeJS.ProcessEnv) => ReturnType<typeof loadConfigWithoutSecrets> {
  let n = 0;
  return (cfg, env = {}) => {
    const f = join(dir, `keyline-${++n}.json`);
    writeFileSync(f, JSON.stringify(cfg));
    return loadConfigWithoutSecrets(f, env);
  };
}
