/**
 * keyline.json's issuing CA list (issue 19): ca.issuing replaces issuingCert + hsm.issuingKey,
 * each CA after the first names its own CRL URL, no two share one, and the list resolves paths
 * relative to the file; the single-CA form still loads as one entry.
 */
import t from 'tap';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { issuingCasOf, loadConfigWithoutSecrets } from '../../server/config.js';

const dir = t.testdir();
const base = {
  hsm: { tokenLabel: 'line', pin: { env: 'PIN' } },
  ca: { crlUrl: 'http://h/crl/issuing.crl', ocspUrl: 'http://h/ocsp' },
};
const load = (cfg: unknown) => {
  const f = join(dir, `k${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(f, JSON.stringify(cfg));
  return loadConfigWithoutSecrets(f, {});
};

t.test('the single-CA form is one entry', async (t) => {
  const c = load({ ...base, hsm: { ...base.hsm, issuingKey: 'pkcs11:token=line;object=issuing-ca' } });
  t.same(issuingCasOf(c), [{ cert: join(dir, 'issuing-ca.pem'), key: 'pkcs11:token=line;object=issuing-ca', crlUrl: 'http://h/crl/issuing.crl', ocspResponderKey: undefined, ocspResponderCert: undefined }]);
  t.same(c.ca.lifetimeWarningDays, [180, 90, 30]);
  t.equal(c.ca.rootCrlWarningDays, 30);
});

t.test('ca.issuing: both CAs, paths resolved, the first CRL URL defaulted', async (t) => {
  const c = load({ ...base, ca: { ...base.ca, rootCrl: 'root-ca.crl', issuing: [
    { cert: 'issuing-ca.pem', key: 'pkcs11:token=line;object=issuing-ca', ocspResponderKey: 'pkcs11:token=line;object=ocsp-responder', ocspResponderCert: 'ocsp.pem' },
    { cert: 'issuing-ca-2.pem', key: 'pkcs11:token=line;object=issuing-ca-2', crlUrl: 'http://h/crl/issuing-ca-2.crl' },
  ] } });
  t.match(issuingCasOf(c), [
    { cert: join(dir, 'issuing-ca.pem'), crlUrl: 'http://h/crl/issuing.crl', ocspResponderCert: join(dir, 'ocsp.pem') },
    { cert: join(dir, 'issuing-ca-2.pem'), key: 'pkcs11:token=line;object=issuing-ca-2', crlUrl: 'http://h/crl/issuing-ca-2.crl' },
  ]);
  t.equal(c.ca.rootCrl, join(dir, 'root-ca.crl'));
});

t.test('refused: no key at all, a second CA without its own CRL URL, two CAs at one CRL URL', async (t) => {
  t.throws(() => load(base), { code: 'CONFIG_INVALID', message: /hsm\.issuingKey: required unless ca\.issuing lists the issuing CAs/ });
  t.throws(() => load({ ...base, ca: { ...base.ca, issuing: [{ cert: 'a.pem', key: 'pkcs11:object=a' }, { cert: 'b.pem', key: 'pkcs11:object=b' }] } }),
    { message: /ca\.issuing\.1\.crlUrl: required for every issuing CA but the first/ });
  t.throws(() => load({ ...base, ca: { ...base.ca, issuing: [{ cert: 'a.pem', key: 'pkcs11:object=a' }, { cert: 'b.pem', key: 'pkcs11:object=b', crlUrl: 'http://h/crl/issuing.crl' }] } }),
    { message: /ca\.issuing\.1\.crlUrl: 'http:\/\/h\/crl\/issuing\.crl' is already the CRL URL of ca\.issuing\[0\]/ });
});
