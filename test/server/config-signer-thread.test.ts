/**
 * Issue 13: hsm.signerThread (sign off the event loop, default on) and its environment switch
 * KEYLINE_HSM_SIGNER_THREAD, the way back to signing in the loop.
 */
import t from 'tap';
import { configLoader, MINIMAL_CONFIG } from '../helpers/config-file.js';

const dir = t.testdir();
const base = MINIMAL_CONFIG;
const load = configLoader(dir);

t.test('on by default; the file or the environment turns it off', async (t) => {
  t.equal(load(base).hsm.signerThread, true);
  t.equal(load({ ...base, hsm: { ...base.hsm, signerThread: false } }).hsm.signerThread, false);
  for (const v of ['false', '0']) t.equal(load(base, { KEYLINE_HSM_SIGNER_THREAD: v }).hsm.signerThread, false, `KEYLINE_HSM_SIGNER_THREAD=${v}`);
  for (const v of ['true', '1']) t.equal(load({ ...base, hsm: { ...base.hsm, signerThread: false } }, { KEYLINE_HSM_SIGNER_THREAD: v }).hsm.signerThread, true);
  t.throws(() => load(base, { KEYLINE_HSM_SIGNER_THREAD: 'off' }), { code: 'CONFIG_INVALID', message: /hsm\.signerThread/ });
});
