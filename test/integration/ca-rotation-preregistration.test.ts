/**
 * Preregistration across an issuing CA rotation (issue 19): an AWS IoT registry in
 * 'registered-ca' mode on a running server registers each unit with the CA that signed it. A unit
 * issued before `keyline ca activate --next` goes with the first CA, one issued after with the
 * new one (loaded by the server on activation, no restart). The fake AWS IoT, like AWS, refuses a
 * certificate sent with a CA that did not sign it (CertificateValidationException): sending
 * every unit with the first CA, as the server did, parks the new CA's units.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import Database from 'better-sqlite3';
import t from 'tap';
import { fromPem, toPem } from '../../common/pem.js';
import { authorityKeyIdOf, caKeyId } from '../../server/ca/key-id.js';
import { awsCertificateId } from '../../server/registry/aws-iot-registry.js';
import { chipSerialHex, deviceKey } from '../helpers/device-keys.js';
import { runKeyline } from '../helpers/keyline-cli.js';
import { makeDevPki } from '../helpers/pki.js';
import { clientFor, operatorFor, startTestServer } from '../helpers/server.js';
import { startFakeAwsIot, type FakeAwsIot } from '../server/registry/fake-aws-iot.js';

/** Registers a CA in the fake, as an operator does in the AWS console (setup is for 'jitp' only). */
function registerCa(fake: FakeAwsIot, der: Uint8Array): string {
  const id = awsCertificateId(der);
  fake.state.cas.set(id, { id, arn: `arn:aws:iot:${fake.region}:123456789012:cacert/${id}`, pem: toPem(der), verificationPem: '', status: 'ACTIVE', autoRegistration: 'DISABLE' });
  return id;
}

t.test('registered-ca mode: units of the first and of the activated CA each registered under their own CA', async (t) => {
  const pki = await makeDevPki(t);
  const dir = pki.outDir;
  const fake = await startFakeAwsIot({ policies: ['keyline-device'] });
  t.teardown(() => fake.close());
  const ca1Id = registerCa(fake, pki.issuingDer);
  const cfg = JSON.parse(readFileSync(pki.configPath, 'utf8'));
  cfg.registries = {
    aws: {
      type: 'aws-iot', region: fake.region, endpoint: fake.url, mode: 'registered-ca', policyName: 'keyline-device', requestTimeoutMs: 5_000,
      credentials: { accessKeyId: { env: 'AWS_TEST_KEY_ID' }, secretAccessKey: { env: 'AWS_TEST_SECRET' } },
    },
  };
  cfg.outbox = { intervalMs: 200, baseDelayMs: 100, maxDelayMs: 500 };
  writeFileSync(pki.configPath, JSON.stringify(cfg, null, 2));
  const server = await startTestServer(t, pki, { AWS_TEST_KEY_ID: fake.credentials.accessKeyId, AWS_TEST_SECRET: fake.credentials.secretAccessKey });
  await operatorFor(t, pki, server.apiUrl).createWorkOrder({ id: 'WO-ROT', product: 'Sensor', quota: 100, registries: ['self', 'aws'], preregistration: 'queued' });
  const api = clientFor(t, pki, server.apiUrl);
  const issue = async () => {
    const r = await api.issueUnit({ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-ROT' });
    const der = fromPem(r.certificatePem);
    return { serial: r.serial, der, aki: authorityKeyIdOf(der) };
  };
  const units = [await issue()];

  // The rotation, as README "CA lifecycle" runs it, on the running server.
  t.equal((await runKeyline(['ceremony', 'csr', '--next', '--config', pki.configPath, '--out', join(dir, 'n.csr')])).code, 0);
  const signed = await runKeyline(['ceremony', 'sign-csr', '--csr', join(dir, 'n.csr'), '--root-cert', pki.rootCertPath, '--root-key', 'pkcs11:token=keyline-root;object=root-ca',
    '--pin-file', pki.rootPinPath, '--softhsm-conf', pki.softhsmConf, '--crl-url', 'http://127.0.0.1:8080/crl/root.crl', '--out', join(dir, 'issuing-ca-2.pem')]);
  t.equal(signed.code, 0, signed.out);
  const ca2Der = fromPem(readFileSync(join(dir, 'issuing-ca-2.pem'), 'utf8'));
  const ca2Id = registerCa(fake, ca2Der);
  cfg.ca.issuing = [{ cert: 'issuing-ca.pem', key: cfg.hsm.issuingKey, ocspResponderKey: cfg.ca.ocspResponderKey, ocspResponderCert: cfg.ca.ocspResponderCert },
    { cert: 'issuing-ca-2.pem', key: 'pkcs11:token=keyline-line;object=issuing-ca-2', crlUrl: 'http://127.0.0.1:8080/crl/issuing-ca-2.crl' }];
  writeFileSync(pki.configPath, JSON.stringify(cfg, null, 2));
  const activated = await runKeyline(['ca', 'activate', '--next', '--config', pki.configPath]);
  t.equal(activated.code, 0, activated.out);
  // The server switches on its next poll of the activation: issue until a unit comes from the new CA.
  for (let end = Date.now() + 15_000; units.at(-1)!.aki !== caKeyId(ca2Der) && Date.now() < end; await sleep(200)) units.push(await issue());
  t.same([units[0]!.aki, units.at(-1)!.aki], [caKeyId(pki.issuingDer), caKeyId(ca2Der)], 'units of both CAs');

  // Every AWS job leaves 'pending' (delivered, or parked by a refusal).
  const db = new Database(join(dir, 'keyline.db'), { readonly: true });
  t.teardown(() => db.close());
  const jobs = () => db.prepare("SELECT serial, status, last_error AS error FROM outbox_jobs WHERE registry = 'aws' AND action = 'register'").all() as { serial: string; status: string; error: string | null }[];
  for (let end = Date.now() + 30_000; Date.now() < end && !(jobs().length === units.length && jobs().every((j) => j.status !== 'pending')); await sleep(100));
  t.same(jobs().map((j) => [j.status, j.error]), units.map(() => ['delivered', null]), 'every unit delivered to AWS');
  for (const u of units) {
    const held = fake.state.certificates.get(awsCertificateId(u.der));
    t.match(held, { status: 'ACTIVE', caCertificateId: u.aki === caKeyId(ca2Der) ? ca2Id : ca1Id }, `unit ${u.serial} registered ACTIVE under the CA that signed it`);
  }
  t.same(fake.state.violations, []);
});
