import t from 'tap';
import { certDefToC, deviceCertDef, signerCertDef } from '../../../secure-element/atcacert/index.js';
import { makeTestPki } from './ca-fixture.js';

t.test('C export names every atcacert_def_t field and the template bytes', async (t) => {
  const pki = await makeTestPki();
  const def = deviceCertDef({ issuingCaDer: pki.issuingDer, product: 'Widget', validityYears: 10, crlUrl: 'http://x.test/c.crl' }, 'utc-utc');
  const c = certDefToC(def);
  t.match(c, `const uint8_t g_device_utc_utc_template[${def.template.length}] = {`);
  t.match(c, '.sn_source = SNSRC_PUB_KEY_HASH');
  t.match(c, '.issue_date_format = DATEFMT_RFC5280_UTC');
  t.match(c, `{ .offset = ${def.std.certSn.offset}, .count = 16 }, /* STDCERT_CERT_SN */`);
  t.match(c, '.transforms = { TF_BIN2HEX_UC, TF_NONE }');
  t.match(c, '.comp_cert_dev_loc = { .zone = DEVZONE_DATA, .slot = 10, .is_genkey = 0, .offset = 0, .count = 72 }');
  const hex = [...c.matchAll(/0x([0-9a-f]{2})/g)].map((m) => m[1]).join('');
  t.ok(hex.startsWith(Buffer.from(def.template).toString('hex')), 'template bytes in order');
  t.match(certDefToC(signerCertDef(pki.issuingDer)), '.cert_elements = NULL');
});
