/**
 * The device clients' handling of the protocols' semantics (firmware-sim/cloud/), against a
 * stand-in endpoint that answers what the test scripts: DPS throttling and polling by
 * retry-after, refusals, a tampered configuration; AWS certificates for another key and a
 * tampered deviceConfiguration. The chips are real emulated ATECC608s provisioned through the
 * station line; their TLS identity is checked by the stand-in against the test root.
 */
import t from 'tap';
import { join } from 'node:path';
import { saveChipImage } from '../../emulator/atecc608/image.js';
import { chipFileName } from '../../emulator/chip-dir.js';
import { bootDevice, powerOn } from '../../firmware-sim/boot.js';
import { enrollCloud } from '../../firmware-sim/cloud/cloud-enroll.js';
import { loadDeviceState, stateFileFor } from '../../firmware-sim/device-state.js';
import { createTemplateDeviceIssuer } from '../../server/ca/template-device-issuer.js';
import { startFakeCloud } from './cloud-fake-endpoint.js';
import { startFakeEnrollment } from './fake-enrollment.js';
import { provisionChips } from './provisioned.js';

const p = await provisionChips(t, 6);
const dir = t.testdir();
const files: string[] = [];
for (const c of p.chips) {
  files.push(join(dir, chipFileName(c)));
  await saveChipImage(c, files.at(-1)!);
}
const devices = createTemplateDeviceIssuer({ signer: p.issuing.signer, issuingCaDer: new Uint8Array(p.issuing.cert.rawData), crlUrl: p.trust.crlUrl!, ocspUrl: p.trust.ocspUrl!, validityYears: 0 });
const fake = await startFakeCloud(t, p.issuing, devices, p.backend.rootPem);
const device = (i: number) => powerOn({ chipFile: files[i]!, firstBootTrust: () => p.trust });

t.test('dps: 429 waited out, 202 polled after its retry-after, then assigned with a verified configuration', async (t) => {
  fake.requests.length = 0;
  fake.behaviour = { dps: [
    { status: 429, body: { errorCode: 429001, message: 'throttled' }, retryAfter: 1 },
    { status: 202, body: { operationId: 'op-1', status: 'assigning' }, retryAfter: 0 },
    { status: 202, body: { operationId: 'op-1', status: 'assigning' }, retryAfter: 1 },
    'signed',
  ] };
  const d = await device(0);
  const t0 = Date.now();
  const r = await enrollCloud(d, { protocol: 'dps', url: fake.url, idScope: 'scope' });
  t.ok(Date.now() - t0 >= 1900, 'both one-second waits were kept');
  t.match(r, { group: 'sensors', assignedHub: 'hub.example', polls: 2 });
  t.match(fake.requests.map((x) => x.replace(/\?.*/, '')), [
    '$dps/registrations/PUT/iotdps-register/', '$dps/registrations/PUT/iotdps-register/', // the throttled register is repeated
    '$dps/registrations/GET/iotdps-get-operationstatus/', '$dps/registrations/GET/iotdps-get-operationstatus/',
  ]);
  t.match(fake.requests[2], /operationId=op-1/);
  t.match((await loadDeviceState(stateFileFor(files[0]!)))?.enrollment, { group: 'sensors', config: { telemetryIntervalSeconds: 60 } });
  await d.dev.close();
});

t.test('dps refusals: an error status, a failed registration, a tampered configuration', async (t) => {
  const d = await device(1);
  fake.behaviour = { dps: [{ status: 401, body: { errorCode: 401002, message: 'Invalid certificate.' } }] };
  await t.rejects(enrollCloud(d, { protocol: 'dps', url: fake.url }), { code: 'UNAUTHENTICATED', protocol: 'dps', detail: { wire: { status: 401, errorCode: 401002 } } }, 'a cloud\'s own error: status mapped');
  fake.behaviour = { dps: [{ status: 404, body: { errorCode: 404201, message: 'UNIT_NOT_CONFIRMED: unit 01 is not confirmed' } }] };
  await t.rejects(enrollCloud(d, { protocol: 'dps', url: fake.url }), { code: 'UNIT_NOT_CONFIRMED' }, 'a Keyline code in the message wins');
  fake.behaviour = { dps: [{ status: 200, body: { operationId: 'op', status: 'failed', registrationState: { status: 'failed', errorCode: 400209, errorMessage: 'custom allocation failed' } } }] };
  await t.rejects(enrollCloud(d, { protocol: 'dps', url: fake.url }), { code: 'ENROLLMENT_REJECTED', protocol: 'dps', detail: { wire: { status: 'failed', errorCode: 400209 } } }, 'failed, no Keyline code in it');
  fake.behaviour = { dps: [{ status: 200, body: { operationId: 'op', status: 'weird' } }] };
  await t.rejects(enrollCloud(d, { protocol: 'dps', url: fake.url }), { code: 'BAD_SERVER_RESPONSE' });
  fake.behaviour = { dps: ['signed'], tamper: true };
  await t.rejects(enrollCloud(d, { protocol: 'dps', url: fake.url }), { code: 'CONFIG_SIGNATURE_INVALID' });
  t.notOk((await loadDeviceState(stateFileFor(files[1]!)))?.enrollment, 'nothing refused was stored');
  await d.dev.close();
});

t.test('aws-fleet: a certificate for another key is refused before RegisterThing; a tampered configuration keeps the certificate', async (t) => {
  const d = await device(2);
  fake.requests.length = 0;
  fake.behaviour = { dps: [], certifyOtherKey: true };
  await t.rejects(enrollCloud(d, { protocol: 'aws-fleet', url: fake.url }), { code: 'CHAIN_INVALID' });
  t.same(fake.requests, ['$aws/certificates/create-from-csr/json'], 'RegisterThing never sent');

  fake.behaviour = { dps: [], tamper: true };
  await t.rejects(enrollCloud(d, { protocol: 'aws-fleet', url: fake.url }), { code: 'CONFIG_SIGNATURE_INVALID' });
  const state = await loadDeviceState(stateFileFor(files[2]!));
  t.notOk(state?.enrollment, 'the configuration is not stored');
  t.match(state?.cloud, { certificatePem: /BEGIN CERTIFICATE/, awsFleet: { thingName: 'thing-1' } }, 'the activated certificate is kept: it is the device\'s identity now');

  fake.behaviour = { dps: [] };
  const r = await enrollCloud(d, { protocol: 'aws-fleet', url: fake.url });
  t.match(r, { group: 'sensors', thingName: 'thing-1' }, 'and it connects with it next time');
  await d.dev.close();
});

t.test('after Fleet Provisioning gave it a new certificate, the device presents that one in the Keyline protocol too', async (t) => {
  const d = await device(3);
  fake.behaviour = { dps: [] };
  const aws = await enrollCloud(d, { protocol: 'aws-fleet', url: fake.url });
  await d.dev.close();
  t.not(aws.fingerprint, d.identity.fingerprint, 'the stand-in signed a new certificate (another signature)');
  const keyline = await startFakeEnrollment(t, p.issuing);
  const r = await bootDevice({ chipFile: files[3]!, brokerUrl: keyline.url });
  t.equal(keyline.helloCertificates.get(r.serial), aws.fingerprint, 'hello carried the certificate Fleet Provisioning issued, not the line certificate');
  t.equal(r.fingerprint, aws.fingerprint, 'and the boot reports it');
  t.equal((await loadDeviceState(stateFileFor(files[3]!)))?.enrollment?.fingerprint, aws.fingerprint);
});
