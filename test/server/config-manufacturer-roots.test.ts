/**
 * Issue 15: ca.manufacturerRoots, the SE050 manufacturer roots key-origin evidence must chain to:
 * paths relative to keyline.json, KEYLINE_CA_MANUFACTURER_ROOTS as a comma-separated override,
 * every certificate of each file loaded, anything that is not a CA certificate refused by name.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { configLoader, MINIMAL_CONFIG } from '../helpers/config-file.js';
import { loadManufacturerRoots } from '../../server/ca/manufacturer-roots.js';
import { createManufacturerRoot } from '../../common/se05x/manufacturer-root.js';
import { makeTestPki } from '../secure-element/atcacert/ca-fixture.js';

const dir = t.testdir();
const base = MINIMAL_CONFIG;
const load = configLoader(dir);

t.test('paths relative to the file; none by default; the environment overrides', async (t) => {
  t.same(load(base).ca.manufacturerRoots, []);
  t.same(load({ ...base, ca: { ...base.ca, manufacturerRoots: ['a.pem', '/abs/b.pem'] } }).ca.manufacturerRoots, [join(dir, 'a.pem'), '/abs/b.pem']);
  t.same(load(base, { KEYLINE_CA_MANUFACTURER_ROOTS: 'x.pem,y.pem' }).ca.manufacturerRoots, [join(dir, 'x.pem'), join(dir, 'y.pem')]);
  t.throws(() => load({ ...base, ca: { ...base.ca, manufacturerRoots: [''] } }), { code: 'CONFIG_INVALID' });
});

t.test('loading: every certificate of each file; a file missing, empty or not a CA refused by name', async (t) => {
  const a = await createManufacturerRoot({ org: 'A' });
  const b = await createManufacturerRoot({ org: 'B' });
  writeFileSync(join(dir, 'two.pem'), a.certPem + b.certPem);
  writeFileSync(join(dir, 'one.pem'), a.certPem);
  t.equal(loadManufacturerRoots([join(dir, 'two.pem'), join(dir, 'one.pem')]).length, 3);
  t.throws(() => loadManufacturerRoots([join(dir, 'missing.pem')]), { code: 'CONFIG_INVALID', message: /missing\.pem/ });
  writeFileSync(join(dir, 'empty.pem'), 'nothing here\n');
  t.throws(() => loadManufacturerRoots([join(dir, 'empty.pem')]), { code: 'CONFIG_INVALID', message: /holds no certificate/ });
  const pki = await makeTestPki();
  const { createDerDeviceIssuer } = await import('../../server/ca/der-device-issuer.js');
  const leaf = await createDerDeviceIssuer({ signer: pki.signer, issuingCaDer: pki.issuingDer, validityYears: 1 })
    .issue({ chip: 'se050', chipSerial: new Uint8Array(18).fill(1), publicKey: (await import('node:crypto')).generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' }).subarray(-64), product: 'P', issuedAt: new Date() });
  const { toPem } = await import('../../common/pem.js');
  writeFileSync(join(dir, 'leaf.pem'), toPem(leaf.der));
  t.throws(() => loadManufacturerRoots([join(dir, 'leaf.pem')]), { code: 'CONFIG_INVALID', message: /is not a CA certificate/ });
});
