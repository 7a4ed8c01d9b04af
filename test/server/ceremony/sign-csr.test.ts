import { readFileSync } from 'node:fs';
import t from 'tap';
import { fromPem, toPem } from '../../../common/pem.js';
import { checkCaAtStartup } from '../../../server/ca/startup-checks.js';
import { Pkcs11KeyStore } from '../../../server/hsm/pkcs11-key-store.js';
import { makeIssuingCsr, signIssuingCsr } from '../../../server/ceremony/sign-csr.js';
import { makeDevPki } from '../../helpers/pki.js';

t.test('production flow: CSR from the line token, signed by the root token, accepted at start-up', async (t) => {
  const pki = await makeDevPki(t);
  const pin = (f: string) => readFileSync(f, 'utf8').trim();
  const line = Pkcs11KeyStore.open({ softhsmConf: pki.softhsmConf, tokenLabel: 'keyline-line', pin: pin(pki.linePinPath), sessions: 1 });
  t.teardown(() => line.close());
  const keyRef = 'pkcs11:token=keyline-line;object=issuing-ca-2027';
  const events: string[] = [];
  const csrPem = await makeIssuingCsr({ lineStore: line, keyRef, org: 'Keyline Dev', record: async (e) => void events.push(e.action) });
  t.match(csrPem, /^-----BEGIN CERTIFICATE REQUEST-----/);

  const root = Pkcs11KeyStore.open({ softhsmConf: pki.softhsmConf, tokenLabel: 'keyline-root', pin: pin(pki.rootPinPath), sessions: 1 });
  t.teardown(() => root.close());
  const rootCertPem = readFileSync(pki.rootCertPath, 'utf8');
  const issuingPem = await signIssuingCsr({ rootStore: root, rootKeyRef: pki.rootKeyRef, rootCertPem, csrPem, record: async (e) => void events.push(e.action) });
  t.same(events, ['ceremony.issuing.keygen', 'ceremony.issuing.csr', 'ceremony.issuing.sign']);

  const { issuing } = await checkCaAtStartup({ keyStore: line, issuingKeyRef: keyRef, rootDer: pki.rootDer, issuingDer: fromPem(issuingPem) });
  t.equal(issuing.subject, 'O=Keyline Dev, CN=Keyline Dev Issuing CA');

  // A request whose signature was tampered with is refused before the root signs anything.
  const der = fromPem(csrPem, 'CERTIFICATE REQUEST');
  der[der.length - 5] ^= 0x01;
  await t.rejects(signIssuingCsr({ rootStore: root, rootKeyRef: pki.rootKeyRef, rootCertPem, csrPem: toPem(der, 'CERTIFICATE REQUEST') }), { code: 'CSR_SIGNATURE_INVALID' });
  // The wrong root certificate for the root key.
  await t.rejects(signIssuingCsr({ rootStore: root, rootKeyRef: pki.rootKeyRef, rootCertPem: readFileSync(pki.issuingCertPath, 'utf8'), csrPem }), { code: 'CA_KEY_MISMATCH' });
});
