import t from 'tap';
import { copyFile, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { saveChipImage, loadChipImage } from '../../emulator/atecc608/image.js';
import { chipFileName } from '../../emulator/chip-dir.js';
import { createIssuingCa, createRootCa } from '../../server/ca/profiles.js';
import { bootDevice } from '../../firmware-sim/boot.js';
import { loadDeviceState, stateFileFor } from '../../firmware-sim/device-state.js';
import { EnrollmentRefusedError } from '../../firmware-sim/enroll-client.js';
import { createSoftSigner } from '../helpers/soft-signer.js';
import { startFakeEnrollment } from './fake-enrollment.js';
import { provisionChips } from './provisioned.js';

const counter0 = async (file: string) => {
  const chip = await loadChipImage(file);
  // Counter 0 in config bytes 52-59 (datasheet §Counters): read through the image's config.
  return chip.state.config.slice(52, 60);
};

t.test('first boot enrolls, stores the verified configuration, moves the chip counter; second boot re-authenticates', async (t) => {
  const p = await provisionChips(t, 1);
  const fake = await startFakeEnrollment(t, p.issuing);
  const dir = t.testdir();
  const file = join(dir, chipFileName(p.chips[0]!));
  await saveChipImage(p.chips[0]!, file);
  const before = await counter0(file);

  const first = await bootDevice({ chipFile: file, brokerUrl: fake.url, firstBootTrust: () => p.trust });
  t.equal(first.outcome, 'enrolled');
  t.equal(first.group, 'sensors');
  t.equal(first.counter, 1, 'counter 0 incremented inside the chip for the proof');
  t.equal(first.protocolVersion, 4, 'aedes speaks 3.1.1: the client fell back from 5');
  t.not(Buffer.from(await counter0(file)).toString('hex'), Buffer.from(before).toString('hex'), 'chip image saved with the moved counter');
  const state = await loadDeviceState(stateFileFor(file));
  t.equal(state?.enrollment?.group, 'sensors');
  t.same(state?.enrollment?.config, { telemetryIntervalSeconds: 60, serial: first.serial });
  t.equal(state?.boots, 1);
  t.match(state?.firmware.rootCertPem, /BEGIN CERTIFICATE/, 'root pinned at first boot');
  t.notMatch(await readFile(stateFileFor(file), 'utf8'), /PRIVATE KEY/, 'no key material in the state file');

  // Second boot: no first-boot trust offered; the pinned one is used.
  const second = await bootDevice({ chipFile: file, brokerUrl: fake.url });
  t.equal(second.outcome, 'reauthenticated');
  t.equal(second.counter, 2);
  const state2 = await loadDeviceState(stateFileFor(file));
  t.equal(state2?.enrollment?.reauthentications, 1);
  t.equal(state2?.enrollment?.enrolledAt, state?.enrollment?.enrolledAt, 'enrollment time kept');
  t.equal(state2?.boots, 2);
});

t.test('a tampered configuration is rejected and not stored', async (t) => {
  const p = await provisionChips(t, 1);
  const fake = await startFakeEnrollment(t, p.issuing);
  const file = join(t.testdir(), chipFileName(p.chips[0]!));
  await saveChipImage(p.chips[0]!, file);
  fake.behaviour.tamper = true;
  await t.rejects(bootDevice({ chipFile: file, brokerUrl: fake.url, firstBootTrust: () => p.trust }), { code: 'CONFIG_SIGNATURE_INVALID' });
  t.equal((await loadDeviceState(stateFileFor(file)))?.enrollment, undefined, 'nothing stored');
  fake.behaviour = { foreignSigner: true };
  await t.rejects(bootDevice({ chipFile: file, brokerUrl: fake.url }), { code: 'CONFIG_SIGNATURE_INVALID' }, 'a signer key other than the certificate\'s is refused');
  fake.behaviour = {};
  t.equal((await bootDevice({ chipFile: file, brokerUrl: fake.url })).outcome, 'reauthenticated', 'the honest answer is then accepted (server had recorded the device)');
});

t.test('a refusal carries the server\'s code; the counter stays moved', async (t) => {
  const p = await provisionChips(t, 1);
  const fake = await startFakeEnrollment(t, p.issuing);
  const file = join(t.testdir(), chipFileName(p.chips[0]!));
  await saveChipImage(p.chips[0]!, file);
  fake.behaviour.refuse = 'DEVICE_REVOKED';
  const err = await bootDevice({ chipFile: file, brokerUrl: fake.url, firstBootTrust: () => p.trust }).catch((e) => e);
  t.type(err, EnrollmentRefusedError);
  t.equal(err.code, 'DEVICE_REVOKED');
  fake.behaviour = {};
  t.equal((await bootDevice({ chipFile: file, brokerUrl: fake.url })).counter, 2, 'the refused attempt used counter value 1');
});

t.test('a chip image rolled back to an earlier counter is refused as a replay', async (t) => {
  const p = await provisionChips(t, 1);
  const fake = await startFakeEnrollment(t, p.issuing);
  const dir = t.testdir();
  const file = join(dir, chipFileName(p.chips[0]!));
  await saveChipImage(p.chips[0]!, file);
  await copyFile(file, join(dir, 'old'));
  await bootDevice({ chipFile: file, brokerUrl: fake.url, firstBootTrust: () => p.trust });
  await copyFile(join(dir, 'old'), file);
  await t.rejects(bootDevice({ chipFile: file, brokerUrl: fake.url }), { code: 'REPLAYED' });
});

t.test('a broker whose certificate is not from the pinned root is refused before anything is sent', async (t) => {
  const p = await provisionChips(t, 1);
  const rootSigner = createSoftSigner(undefined, 'soft:evil-root');
  const evilRoot = await createRootCa({ signer: rootSigner, org: 'Evil' });
  const evilSigner = createSoftSigner(undefined, 'soft:evil-issuing');
  const evilIssuing = await createIssuingCa({ root: { signer: rootSigner, cert: evilRoot }, subjectSpki: await evilSigner.publicKeySpki(), org: 'Evil' });
  const fake = await startFakeEnrollment(t, { signer: evilSigner, cert: evilIssuing });
  const file = join(t.testdir(), chipFileName(p.chips[0]!));
  await saveChipImage(p.chips[0]!, file);
  await t.rejects(bootDevice({ chipFile: file, brokerUrl: fake.url, firstBootTrust: () => p.trust }), { code: 'BROKER_UNREACHABLE' });
  t.equal(fake.enrolled.size, 0);
});

t.test('first boot without a factory config is a clear error', async (t) => {
  const p = await provisionChips(t, 1);
  const file = join(t.testdir(), chipFileName(p.chips[0]!));
  await saveChipImage(p.chips[0]!, file);
  await t.rejects(bootDevice({ chipFile: file, brokerUrl: 'mqtts://127.0.0.1:1' }), { code: 'DEVICE_STATE_INVALID' });
});
