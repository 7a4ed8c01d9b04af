/**
 * Simulated devices enrolling through AWS IoT Fleet Provisioning and Azure DPS (issue 16) against
 * the real server (SoftHSM, SQLite, the cloud endpoints `keyline ceremony init --dev` enables):
 * chips provisioned through the station API, booted with `--protocol aws-fleet|dps` by the
 * device's own clients (firmware-sim/cloud/, on the `mqtt` package; the CSR signed in the chip).
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { dirname, join, resolve } from 'node:path';
import { saveChipImage } from '../../emulator/atecc608/image.js';
import { chipFileName } from '../../emulator/chip-dir.js';
import { bootAny } from '../../firmware-sim/cloud/cloud-boot.js';
import { CloudRefusedError } from '../../firmware-sim/cloud/cloud-errors.js';
import { loadDeviceState, stateFileFor } from '../../firmware-sim/device-state.js';
import { bootFleet } from '../../firmware-sim/fleet.js';
import { trustFromFactoryConfig } from '../../firmware-sim/firmware-trust.js';
import { makeDevPki } from '../helpers/pki.js';
import { officerFor, startTestServer } from '../helpers/server.js';
import { openServerStore, provisionViaServer } from '../server/enroll/server-bed.js';

const root = resolve(import.meta.dirname, '../..');
const pki = await makeDevPki(t);
const server = await startTestServer(t, pki);
const store = openServerStore(t, pki);
const awsUrl = server.awsFleetUrl!;
const dpsUrl = server.dpsUrl!;
const firstBootTrust = () => trustFromFactoryConfig(pki.configPath, 'Sensor');

// t.testdir() again would wipe the PKI made in it: the devices get a folder beside the PKI.
const dir = join(dirname(pki.outDir), 'devices');
mkdirSync(dir);
const chips = await provisionViaServer(t, pki, store, server.apiUrl, 10, 'WO-CLOUD');
const files: string[] = [];
for (const c of chips) {
  files.push(join(dir, chipFileName(c)));
  await saveChipImage(c, files.at(-1)!);
}
const serialOf = (file: string) => file.split('/').pop()!.replace('.json', '');
const enrollmentOf = (serial: string) => store.transaction((tx) => tx.enrollment.get(serial), { readOnly: true });
const auditOf = async (serial: string) => (await store.transaction((tx) => tx.audit.listBySubject([serial], 50), { readOnly: true })).map((r) => r.action);

t.test('dps: registered, assigned, signed configuration verified and stored, enrollment recorded', async (t) => {
  const file = files[0]!;
  const r = await bootAny({ chipFile: file, brokerUrl: dpsUrl, protocol: 'dps', firstBootTrust });
  t.match(r, { serial: serialOf(file), protocol: 'dps', outcome: 'enrolled', group: 'default', assignedHub: 'keyline-dev-hub.azure-devices.net', deviceId: serialOf(file), protocolVersion: 4 });
  const state = await loadDeviceState(stateFileFor(file));
  t.match(state?.enrollment, { group: 'default', configSignature: String, configSignerCertificate: String, fingerprint: r.fingerprint }, 'the verified configuration is stored');
  t.match(state?.cloud?.dps, { url: dpsUrl, assignedHub: 'keyline-dev-hub.azure-devices.net', deviceId: serialOf(file) });
  t.match(await enrollmentOf(r.serial), { serial: r.serial, method: 'mtls', group: 'default' }, 'the server recorded the enrollment');
  t.ok((await auditOf(r.serial)).includes('device.enrolled'), 'and audited it');

  const again = await bootAny({ chipFile: file, brokerUrl: dpsUrl, protocol: 'dps' });
  t.equal(again.outcome, 'reauthenticated', 'a second registration is a re-authentication');
  t.equal((await loadDeviceState(stateFileFor(file)))?.enrollment?.reauthentications, 1);
});

t.test('aws-fleet: CSR signed in the chip, certificate for the chip key, RegisterThing, configuration verified, the certificate on record', async (t) => {
  const file = files[1]!;
  const serial = serialOf(file);
  const r = await bootAny({ chipFile: file, brokerUrl: awsUrl, protocol: 'aws-fleet', firstBootTrust });
  t.match(r, { serial, protocol: 'aws-fleet', outcome: 'enrolled', group: 'default', thingName: `Sensor-${serial}`, certificateId: r.fingerprint });
  const state = await loadDeviceState(stateFileFor(file));
  t.match(state?.enrollment, { group: 'default', configSignature: String, fingerprint: r.fingerprint });
  const cert = new X509Certificate(state!.cloud!.certificatePem!);
  t.equal(cert.fingerprint256.replaceAll(':', '').toLowerCase(), r.fingerprint, 'the device keeps the certificate Fleet Provisioning issued');
  // (Not asserted: that it differs from the line certificate. The endpoint answers a CSR for the
  // chip's current key with the unit's current certificate.)
  const unit = await store.transaction((tx) => tx.units.getBySerial(serial), { readOnly: true });
  t.equal(unit!.fingerprintSha256, r.fingerprint, 'the certificate the device holds is the one Keyline records for the unit');
  t.match(await enrollmentOf(serial), { serial, group: 'default' }, 'the enrollment is recorded');
  t.ok((await auditOf(serial)).includes('aws-fleet.thing-registered'));

  // The device presents the certificate it holds from now on, in either protocol (a new one would
  // supersede the line certificate, which the dev template revokes).
  const dps = await bootAny({ chipFile: file, brokerUrl: dpsUrl, protocol: 'dps' });
  t.equal(dps.outcome, 'reauthenticated', 'the device connects with its new certificate');
  t.equal(dps.fingerprint, r.fingerprint);
});

t.test('fleets through each protocol', async (t) => {
  const some = files.slice(2, 5);
  const dps = await bootFleet(some, { brokerUrl: dpsUrl, protocol: 'dps', firstBootTrust, concurrency: 3 });
  t.match(dps.summary, { devices: 3, enrolled: 3, refused: {}, failed: {} });
  t.ok(dps.entries.every((e) => e.ok && e.report.protocol === 'dps'));
  const aws = await bootFleet(some, { brokerUrl: awsUrl, protocol: 'aws-fleet', concurrency: 3 });
  t.match(aws.summary, { devices: 3, reauthenticated: 3, refused: {}, failed: {} }, 'the same units, already enrolled, re-authenticate through AWS');
});

t.test('a revoked unit is refused with a typed error and exit code 1', async (t) => {
  const [dpsFile, awsFile] = [files[5]!, files[6]!];
  for (const f of [dpsFile, awsFile]) {
    const res = await officerFor(t, pki, server.apiUrl).raw('POST', '/v1/revocations', { serial: serialOf(f), reason: 'keyCompromise' });
    t.equal(res.status, 200, `revoked ${serialOf(f)}`);
  }
  const dps = bootAny({ chipFile: dpsFile, brokerUrl: dpsUrl, protocol: 'dps', firstBootTrust });
  await t.rejects(dps, CloudRefusedError);
  await t.rejects(dps, { code: 'UNAUTHENTICATED', protocol: 'dps' });
  await t.rejects(bootAny({ chipFile: awsFile, brokerUrl: awsUrl, protocol: 'aws-fleet', firstBootTrust }), { code: 'UNAUTHENTICATED', protocol: 'aws-fleet' });
  t.notOk(await enrollmentOf(serialOf(dpsFile)), 'nothing recorded');

  const fleet = await bootFleet([dpsFile, files[0]!], { brokerUrl: dpsUrl, protocol: 'dps', concurrency: 2 });
  t.match(fleet.summary, { devices: 2, reauthenticated: 1, refused: { UNAUTHENTICATED: 1 }, failed: {} });

  // The command line, as the demo runs it (a child process: the server runs in this one).
  const ok = await keyline(['device', 'boot', '--protocol', 'dps', '--chip', files[0]!, '--broker', dpsUrl, '--json']);
  t.equal(ok.code, 0, ok.err);
  t.match(JSON.parse(ok.out), { state: 'reauthenticated', protocol: 'dps', assignedHub: 'keyline-dev-hub.azure-devices.net' });
  const refused = await keyline(['device', 'boot', '--protocol', 'aws-fleet', '--chip', awsFile, '--broker', awsUrl, '--json']);
  t.equal(refused.code, 1, refused.err);
  t.match(JSON.parse(refused.out), { state: 'refused', code: 'UNAUTHENTICATED' });
  const usage = await keyline(['device', 'boot', '--protocol', 'mqtt-sn', '--chip', files[0]!]);
  t.equal(usage.code, 2, 'an unknown protocol is a usage error');
});

t.test('refusals carry the server\'s code: a unit revoked by status, an unknown template, another ID scope', async (t) => {
  const [revokedFile, templateFile, scopeFile] = [files[7]!, files[8]!, files[9]!];
  // The unit revoked by status only (its certificate still valid): DPS ends the registration 'disabled', AWS rejects
  // with ACCESS_DENIED; both carry the Keyline protocol's code for it.
  await store.transaction((tx) => tx.units.setStatus(serialOf(revokedFile), 'revoked', { at: new Date().toISOString(), reason: 'test' }));
  const disabled = bootAny({ chipFile: revokedFile, brokerUrl: dpsUrl, protocol: 'dps', firstBootTrust });
  await t.rejects(disabled, { code: 'DEVICE_REVOKED', protocol: 'dps', detail: { wire: { status: 'disabled', errorCode: 401003 } } });
  await t.rejects(bootAny({ chipFile: revokedFile, brokerUrl: awsUrl, protocol: 'aws-fleet' }), { code: 'DEVICE_REVOKED', detail: { wire: { statusCode: 403, errorCode: 'ACCESS_DENIED' } } });

  await t.rejects(bootAny({ chipFile: templateFile, brokerUrl: awsUrl, protocol: 'aws-fleet', template: 'no-such-template', firstBootTrust }),
    { code: 'TEMPLATE_UNKNOWN', detail: { wire: { statusCode: 404, errorCode: 'ResourceNotFound' } } });
  t.notOk(await enrollmentOf(serialOf(templateFile)), 'no enrollment without RegisterThing');
  await t.rejects(bootAny({ chipFile: scopeFile, brokerUrl: dpsUrl, protocol: 'dps', idScope: '0ne00000BAD', firstBootTrust }), { code: 'UNAUTHENTICATED', detail: { wire: { connack: 5 } } });
  const ok = await bootAny({ chipFile: scopeFile, brokerUrl: dpsUrl, protocol: 'dps' });
  t.equal(ok.outcome, 'enrolled', 'with the right scope it registers');
});

/** Runs `keyline ...` in a child process. */
function keyline(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [join(root, 'bin/keyline.js'), ...args], { timeout: 60_000 }, (err, out, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out, err: stderr });
    });
  });
}

