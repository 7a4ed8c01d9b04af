/**
 * The device simulator against the real server (SoftHSM, SQLite, embedded aedes broker on TLS):
 * chips provisioned through the station line and the real station API, then booted as devices.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { request } from 'node:https';
import { dirname, join, resolve } from 'node:path';
import { createBlankChip } from '../../emulator/atecc608/factory.js';
import { saveChipImage } from '../../emulator/atecc608/image.js';
import { chipFileName } from '../../emulator/chip-dir.js';
import type { Atecc608Chip } from '../../emulator/atecc608/chip.js';
import { CertChecker } from '../../station/cert-check.js';
import { keylineProfile } from '../../station/chip-steps.js';
import { InProcessChipSource } from '../../station/chip-source.js';
import { Journal } from '../../station/journal.js';
import { runLine } from '../../station/line.js';
import { Progress } from '../../station/progress.js';
import { bootDevice } from '../../firmware-sim/boot.js';
import { loadDeviceState, stateFileFor } from '../../firmware-sim/device-state.js';
import { bootFleet } from '../../firmware-sim/fleet.js';
import { trustFromFactoryConfig } from '../../firmware-sim/firmware-trust.js';
import { makeDevPki, type TestPki } from '../helpers/pki.js';
import { clientFor, operatorFor, startTestServer } from '../helpers/server.js';

const PRODUCT = 'Field Sensor';
const root = resolve(import.meta.dirname, '../..');

/** POST /v1/revocations as the dev security officer. */
function revoke(pki: TestPki, apiUrl: string, serial: string): Promise<number> {
  const body = JSON.stringify({ serial, reason: 'keyCompromise' });
  return new Promise((res, rej) => {
    const req = request(new URL('/v1/revocations', apiUrl), {
      method: 'POST', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      cert: readFileSync(pki.officerCertPath), key: readFileSync(pki.officerKeyPath), ca: readFileSync(pki.rootCertPath), agent: false,
    }, (r) => (r.resume(), r.on('end', () => res(r.statusCode ?? 0))));
    req.on('error', rej);
    req.end(body);
  });
}

t.test('devices enroll against the real server and embedded broker; refusals carry the server codes', async (t) => {
  const pki = await makeDevPki(t);
  const server = await startTestServer(t, pki);
  t.match(server.mqttUrl, /^mqtts:\/\/127\.0\.0\.1:\d+$/, 'the server announces its TLS broker');
  const brokerUrl = server.mqttUrl!;
  const api = clientFor(t, pki, server.apiUrl);
  await operatorFor(t, pki, server.apiUrl).createWorkOrder({ id: 'WO-FIELD', product: PRODUCT, quota: 10 });

  // t.testdir() again would wipe the PKI made in it: the devices get a folder beside the PKI.
  const dir = join(dirname(pki.outDir), 'devices');
  mkdirSync(dir);
  const line = async (chips: Atecc608Chip[], onStep?: (step: string) => void) => {
    const journal = new Journal(join(dir, 'journal.db'));
    try {
      return await runLine(
        { api, journal, checker: new CertChecker(readFileSync(pki.rootCertPath, 'utf8')), profile: keylineProfile(), source: new InProcessChipSource(chips),
          progress: new Progress({ target: chips.length, alreadyGood: 0, out: { write: () => true }, err: { write: () => true } }), ...(onStep ? { onStep } : {}) },
        { workOrder: 'WO-FIELD', station: 'station-01', target: chips.length + journal.countGood('WO-FIELD'), parallel: 2 },
      );
    } finally {
      journal.close();
    }
  };
  const good = [createBlankChip(), createBlankChip(), createBlankChip()];
  t.equal((await line(good)).good, 3);
  // A unit whose station died after locking the slots, before confirming: written, never confirmed.
  const unconfirmed = createBlankChip();
  await line([unconfirmed], (step) => {
    if (step === 'locked') throw new Error('station killed before confirm');
  }).catch(() => undefined);
  t.not((await api.getUnit(chipFileName(unconfirmed).replace('.json', ''))).status, 'confirmed', 'the fourth unit is not confirmed');
  const files: string[] = [];
  for (const c of [...good, unconfirmed]) {
    files.push(join(dir, chipFileName(c)));
    await saveChipImage(c, files.at(-1)!);
  }
  const [a, b, c, d] = files as [string, string, string, string];
  const firstBootTrust = () => trustFromFactoryConfig(pki.configPath, PRODUCT);

  const first = await bootDevice({ chipFile: a, brokerUrl, firstBootTrust });
  t.equal(first.outcome, 'enrolled');
  t.equal(first.counter, 1);
  const unit = await api.getUnit(first.serial);
  t.equal(first.fingerprint, unit.fingerprintSha256, 'the rebuilt certificate is the one the server issued');
  const state = await loadDeviceState(stateFileFor(a));
  t.equal(state?.enrollment?.group, first.group, 'group stored');
  t.ok(state?.enrollment?.configSignerCertificate, 'config verified against the pinned chain and stored with its signer');

  const second = await bootDevice({ chipFile: a, brokerUrl });
  t.equal(second.outcome, 'reauthenticated', 'second boot re-authenticates without re-enrolling');
  t.equal(second.counter, 2);

  await t.rejects(bootDevice({ chipFile: d, brokerUrl, firstBootTrust }), { code: 'UNIT_NOT_CONFIRMED' });

  t.equal(await revoke(pki, server.apiUrl, (await loadChipSerial(b))), 200);
  await t.rejects(bootDevice({ chipFile: b, brokerUrl, firstBootTrust }), { code: 'DEVICE_REVOKED' });

  const fleet = await bootFleet(files, { brokerUrl, firstBootTrust, concurrency: 4 });
  t.equal(fleet.summary.enrolled, 1, 'c enrolls');
  t.equal(fleet.summary.reauthenticated, 1, 'a re-authenticates');
  t.same(fleet.summary.refused, { DEVICE_REVOKED: 1, UNIT_NOT_CONFIRMED: 1 });

  // The command line, as the demo runs it.
  // (a child process: the server runs in this one, so the test must not block waiting.)
  const cli = await keyline(['device', 'boot', '--chip', c, '--broker', brokerUrl, '--json']);
  t.equal(cli.code, 0, cli.err);
  t.match(JSON.parse(cli.out.trim()), { state: 'reauthenticated', serial: chipFileName(good[2]!).replace('.json', '') });
  const refused = await keyline(['device', 'boot', '--chip', d, '--broker', brokerUrl, '--json']);
  t.equal(refused.code, 1);
  t.match(JSON.parse(refused.out.trim()), { state: 'refused', code: 'UNIT_NOT_CONFIRMED' });
});

/** Runs `keyline ...` in a child process. */
function keyline(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [join(root, 'bin/keyline.js'), ...args], { timeout: 60_000 }, (err, out, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out, err: stderr });
    });
  });
}

async function loadChipSerial(file: string): Promise<string> {
  return file.split('/').pop()!.replace('.json', '');
}
