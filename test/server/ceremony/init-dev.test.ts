import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import pkcs11js from 'pkcs11js';
import * as x509 from '../../../common/x509.js';
import { loadConfig } from '../../../server/config.js';
import { initDevPki } from '../../../server/ceremony/init-dev.js';
import { Pkcs11KeyStore } from '../../../server/hsm/pkcs11-key-store.js';
import { makeDevPki } from '../../helpers/pki.js';

t.test('builds a PKI that openssl verifies, with a loadable config', async (t) => {
  const started = Date.now();
  const pki = await makeDevPki(t);
  t.comment(`makeDevPki took ${Date.now() - started} ms`);
  const dir = pki.outDir;
  for (const f of ['root-ca.pem', 'issuing-ca.pem', 'station-01.pem', 'station-01.key.pem', 'server.pem', 'server.key.pem', 'keyline.json', 'tokens/softhsm2.conf', 'tokens/line.pin', 'tokens/root.pin']) {
    t.ok(statSync(join(dir, f)).isFile(), f);
  }
  for (const f of ['tokens/line.pin', 'tokens/root.pin', 'station-01.key.pem', 'server.key.pem']) t.equal(statSync(join(dir, f)).mode & 0o777, 0o600, `${f} is 0600`);
  const out = execFileSync('openssl', ['verify', '-x509_strict', '-CAfile', join(dir, 'root-ca.pem'), '-untrusted', join(dir, 'issuing-ca.pem'), join(dir, 'issuing-ca.pem'), join(dir, 'station-01.pem'), join(dir, 'server.pem')]).toString();
  t.equal((out.match(/: OK/g) ?? []).length, 3, out);
  execFileSync('openssl', ['verify', '-purpose', 'sslclient', '-CAfile', join(dir, 'root-ca.pem'), '-untrusted', join(dir, 'issuing-ca.pem'), join(dir, 'station-01.pem')]);
  execFileSync('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', join(dir, 'root-ca.pem'), '-untrusted', join(dir, 'issuing-ca.pem'), join(dir, 'server.pem')]);

  const { config, secrets } = loadConfig(pki.configPath, {});
  t.equal(config.hsm.tokenLabel, 'keyline-line');
  t.equal(config.hsm.issuingKey, 'pkcs11:token=keyline-line;object=issuing-ca');
  t.same(config.hsm.pin, { file: 'tokens/line.pin' });
  t.equal(config.ca.crlUrl, 'http://127.0.0.1:8080/crl/issuing.crl');
  t.equal(config.station?.id, 'station-01');
  t.equal(secrets.hsmPin, readFileSync(pki.linePinPath, 'utf8').trim());
  t.notMatch(readFileSync(pki.configPath, 'utf8'), /keyline-root/, 'the root token is never named in the server config');
  t.notMatch(readFileSync(pki.configPath, 'utf8'), new RegExp(secrets.hsmPin), 'no PIN inline');

  const station = new x509.X509Certificate(readFileSync(pki.stationCertPath, 'utf8'));
  t.equal(station.subject, 'O=Keyline Dev, OU=station, CN=station-01');

  // The line token holds exactly the issuing key, non-extractable; the root key is only on the root token.
  const line = Pkcs11KeyStore.open({ softhsmConf: pki.softhsmConf, tokenLabel: 'keyline-line', pin: secrets.hsmPin, sessions: 1 });
  t.teardown(() => line.close());
  t.same((await line.listPrivateKeys()).map((k) => k.label).sort(), ['issuing-ca', 'ocsp-responder']);
  await line.pool.run('attrs', (s) => {
    const p11 = line.pool.p11;
    p11.C_FindObjectsInit(s, [{ type: pkcs11js.CKA_CLASS, value: pkcs11js.CKO_PRIVATE_KEY }]);
    const [h] = p11.C_FindObjects(s, 1);
    p11.C_FindObjectsFinal(s);
    const v = p11.C_GetAttributeValue(s, h!, [{ type: pkcs11js.CKA_SENSITIVE }, { type: pkcs11js.CKA_EXTRACTABLE }, { type: pkcs11js.CKA_PRIVATE }, { type: pkcs11js.CKA_TOKEN }]).map((a) => a.value[0]);
    t.same(v, [1, 0, 1, 1]);
  });
  t.same(readdirSync(join(dir, 'tokens', 'store')).length, 2, 'two token folders: root and line');

  t.same(pki.events.map((e) => e.action), [
    'ceremony.token.init', 'ceremony.token.init', 'ceremony.root.keygen', 'ceremony.root.certify', 'ceremony.issuing.keygen',
    'ceremony.issuing.csr', 'ceremony.issuing.sign', 'ceremony.root.crl', 'ceremony.chain.install', 'ceremony.station.issue', 'ceremony.server.issue', 'ceremony.ocsp.keygen', 'ceremony.ocsp.issue', 'ceremony.officer.issue', 'ceremony.operator.issue', 'ceremony.auditor.issue', 'ceremony.config.write',
  ]);
  const pins = ['tokens/line.pin', 'tokens/root.pin', 'tokens/line.so.pin', 'tokens/root.so.pin'].map((f) => readFileSync(join(dir, f), 'utf8').trim());
  const trail = JSON.stringify(pki.events);
  t.ok(pins.every((p) => !trail.includes(p)), 'no PIN in any audit event');
});

t.test('refuses to overwrite an existing PKI unless forced', async (t) => {
  const pki = await makeDevPki(t);
  const before = readFileSync(pki.rootCertPath, 'utf8');
  await t.rejects(initDevPki({ out: pki.outDir }), { code: 'PKI_EXISTS' });
  t.equal(readFileSync(pki.rootCertPath, 'utf8'), before, 'nothing was touched');
  const lines: string[] = [];
  const again = await initDevPki({ out: pki.outDir, force: true, progress: (l) => lines.push(l) });
  t.not(readFileSync(again.rootCertPath, 'utf8'), before, 'a new root');
  t.match(lines[0], /removed the previous PKI/);
  const pins = ['tokens/line.pin', 'tokens/root.pin'].map((f) => readFileSync(join(pki.outDir, f), 'utf8').trim());
  t.ok(pins.every((p) => !lines.join('\n').includes(p)), 'no PIN in progress output');
});

t.test('a P-384 root signs a P-256 issuing CA', async (t) => {
  const pki = await makeDevPki(t, { rootCurve: 'P-384' });
  const root = new x509.X509Certificate(readFileSync(pki.rootCertPath, 'utf8'));
  t.same(root.signatureAlgorithm, { name: 'ECDSA', hash: { name: 'SHA-384' } });
  const issuing = new x509.X509Certificate(readFileSync(pki.issuingCertPath, 'utf8'));
  t.same(issuing.signatureAlgorithm, { name: 'ECDSA', hash: { name: 'SHA-384' } });
  execFileSync('openssl', ['verify', '-CAfile', pki.rootCertPath, pki.issuingCertPath]);
});
