import { mkdtempSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadConfig } from '../../server/config.js';
import { configTarget } from '../../fuzz/targets/config.js';
import { seededPass } from './seeded-pass.js';

t.test('config: seeded fuzz pass (hostile keyline.json and KEYLINE_* overrides)', (t) => seededPass(t, configTarget, 1500, 0x11c2));

t.test('issue 11 (fuzz findings): keyline.json refusals', async (t) => {
  const dir = mkdtempSync(join(t.testdir(), 'cfg-'));
  const file = join(dir, 'keyline.json');
  const load = (text: string, env: Record<string, string> = {}) => {
    writeFileSync(file, text);
    return () => loadConfig(file, env);
  };
  const valid = (pin: object) => JSON.stringify({
    hsm: { tokenLabel: 't', pin, issuingKey: 'pkcs11:token=t;object=k' },
    ca: { crlUrl: 'http://127.0.0.1/crl', ocspUrl: 'http://127.0.0.1/ocsp' },
  });

  // V8's JSON.parse message quotes the text around an unexpected token.
  const leak = load('{"hsm":{"pin":Pin-7f3a9c2e51}}');
  t.throws(leak, { code: 'CONFIG_INVALID', message: /not JSON: unexpected character "P"/ });
  try {
    leak();
  } catch (err) {
    t.notMatch((err as Error).message, /7f3a9c/, 'the text around the error is not repeated');
    t.equal((err as Error).cause, undefined, 'nor kept as the cause (which gets logged)');
  }
  t.throws(load('{\n  "a": 1,\n}'), { message: /line 3, column 1/ }, 'positions as line and column');

  // A KEYLINE_* override into a section that is not an object threw a TypeError.
  t.throws(load('{"server":"x"}', { KEYLINE_SERVER_PORT: '1' }), { code: 'CONFIG_INVALID', message: /server: / });
  t.throws(load('7', { KEYLINE_SERVER_PORT: '1' }), { code: 'CONFIG_INVALID' });
  t.throws(load('null', { KEYLINE_STORE_URL: 'sqlite:x.db' }), { code: 'CONFIG_INVALID' });

  // `{ "env": "constructor" }` resolved to Object.prototype.constructor, a function, as the PIN.
  t.throws(load(valid({ env: 'constructor' })), { code: 'CONFIG_INVALID', message: /hsm.pin: environment variable constructor is not set/ });
  t.equal(loadConfig((writeFileSync(file, `\ufeff${valid({ env: 'PIN' })}`), file), { PIN: '1234' }).secrets.hsmPin, '1234', 'a UTF-8 BOM is skipped');
});
