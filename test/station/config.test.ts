/**
 * The station's view of keyline.json: no HSM PIN needed, paths resolved against the file,
 * environment overrides, every problem named, and the test-only crash point parsed strictly.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { loadStationConfig, parseCrashAt } from '../../station/config.js';

const base = {
  hsm: { tokenLabel: 'x', pin: { env: 'NOT_SET_ANYWHERE' }, issuingKey: 'pkcs11:token=x' },
  ca: { rootCert: 'root-ca.pem', crlUrl: 'http://x/crl', ocspUrl: 'http://x/ocsp' },
  station: { id: 'station-01', serverUrl: 'https://127.0.0.1:8443', cert: 'station-01.pem', key: 'station-01.key.pem' },
};

t.test('reads the station section and ca.rootCert without the PIN', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'keyline.json');
  writeFileSync(file, JSON.stringify(base));
  const c = loadStationConfig(file, {});
  t.match(c, { id: 'station-01', serverUrl: 'https://127.0.0.1:8443', certFile: join(dir, 'station-01.pem'), keyFile: join(dir, 'station-01.key.pem'), rootCertFile: join(dir, 'root-ca.pem'), journalFile: join(dir, 'station-journal.db') });
  t.equal(c.crashAt, undefined);
  const o = loadStationConfig(file, { KEYLINE_STATION_SERVER_URL: 'https://127.0.0.1:9', KEYLINE_STATION_JOURNAL: '/tmp/j.db', KEYLINE_STATION_CRASH_AT: 'keyed:2' });
  t.match(o, { serverUrl: 'https://127.0.0.1:9', journalFile: '/tmp/j.db', crashAt: { step: 'keyed', n: 2 } });
});

t.test('refusals name the field', async (t) => {
  const dir = t.testdir();
  const file = join(dir, 'keyline.json');
  writeFileSync(file, JSON.stringify({ ...base, station: { id: '', serverUrl: 'not a url', cert: 'c', key: 'k' } }));
  t.throws(() => loadStationConfig(file, {}), { code: 'CONFIG_INVALID', message: /station\.id[\s\S]*station\.serverUrl/ });
  writeFileSync(file, JSON.stringify({ hsm: base.hsm }));
  t.throws(() => loadStationConfig(file, {}), { code: 'CONFIG_INVALID', message: /station/ });
  t.throws(() => loadStationConfig(join(dir, 'missing.json'), {}), { code: 'CONFIG_INVALID', message: /cannot read/ });
});

t.test('crash points', async (t) => {
  t.same(parseCrashAt('issued-unrecorded:3'), { step: 'issued-unrecorded', n: 3 });
  t.equal(parseCrashAt(undefined), undefined);
  t.throws(() => parseCrashAt('keyed'), { code: 'CONFIG_INVALID' });
  t.throws(() => parseCrashAt('keyed:0'), { code: 'CONFIG_INVALID' });
});
