/**
 * Issue 15, the device side: SE050 devices enroll with the same Keyline MQTT protocol as
 * ATECC608 devices, against the real server (SoftHSM, SQLite, embedded aedes broker on TLS).
 * Units of both chips are provisioned through the real station API (field-units.ts) with their
 * key-origin evidence; the devices read their DER certificates from the SE050
 * objects, sign in the chip and count with the SE050 counter object. First enrollment,
 * re-authentication, a chip image rolled back to an earlier counter (REPLAYED), an unconfirmed
 * unit, and a mixed fleet of both chips, in process and through `keyline device`.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { createPrivateKey } from 'node:crypto';
import { copyFileSync, mkdirSync, readFileSync } from 'node:fs';
import mqtt from 'mqtt';
import { toPem } from '../../common/pem.js';
import { enrollMtlsTopic, enrollResponseTopic } from '../../common/protocol/enrollment.js';
import { dirname, join } from 'node:path';
import { silentLogger } from '../../common/log.js';
import { loadManufacturerRoot } from '../../common/se05x/manufacturer-root.js';
import { KitServer } from '../../emulator/kit/kit-server.js';
import { listenKitTcp } from '../../emulator/kit/tcp.js';
import { serveSe050 } from '../../emulator/se050/serve.js';
import { saveChipImage } from '../../emulator/atecc608/image.js';
import { changesPersistentState, chipFileName, openChipDir, saveStoredChip } from '../../emulator/chip-dir.js';
import { se050FileName } from '../../emulator/se050/chip-dir.js';
import { loadSe050Image, saveSe050Image } from '../../emulator/se050/image.js';
import { bootDevice } from '../../firmware-sim/boot.js';
import { loadDeviceState, stateFileFor } from '../../firmware-sim/device-state.js';
import { emulatedDeviceKey, openDeviceChip } from '../../firmware-sim/device-chip.js';
import { bootFleet } from '../../firmware-sim/fleet.js';
import { trustFromFactoryConfig } from '../../firmware-sim/firmware-trust.js';
import { Se050Object } from '../../secure-element/se05x/object-map.js';
import { clientFor, KEYLINE_BIN, operatorFor, startTestServer } from '../helpers/server.js';
import { makeDevPki } from '../helpers/pki.js';
import { provisionAteccUnits, provisionSe050Units } from './field-units.js';

const PRODUCT = 'Field Sensor';

/** The SE050 counter object's value in an image file. */
async function counterIn(file: string): Promise<bigint> {
  const o = (await loadSe050Image(file)).state.objects.get(Se050Object.ENROLLMENT_COUNTER);
  return o?.kind === 'counter' ? o.value : -1n;
}

/** Runs `keyline ...` in a child process (the server runs in this one). */
function keyline(args: string[]): Promise<{ code: number; out: string; err: string }> {
  return new Promise((res) => {
    execFile(process.execPath, [KEYLINE_BIN, ...args], { timeout: 60_000 }, (err, out, stderr) => {
      res({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, out, err: stderr });
    });
  });
}

t.test('SE050 devices enroll, re-authenticate, are refused a replayed counter; a mixed fleet enrolls', async (t) => {
  const pki = await makeDevPki(t);
  const server = await startTestServer(t, pki);
  const brokerUrl = server.mqttUrl!;
  const api = clientFor(t, pki, server.apiUrl);
  const operator = operatorFor(t, pki, server.apiUrl);
  await operator.createWorkOrder({ id: 'WO-SE', product: PRODUCT, quota: 10, chip: 'se050', requireAttestation: true });
  await operator.createWorkOrder({ id: 'WO-608', product: PRODUCT, quota: 10 });
  const root = await loadManufacturerRoot(pki.outDir);

  // Beside the PKI (t.testdir() again would wipe it). field/ holds the fleet; spare/ the rest.
  const field = join(dirname(pki.outDir), 'field');
  const spare = join(dirname(pki.outDir), 'spare');
  mkdirSync(field);
  mkdirSync(spare);
  const se = await provisionSe050Units(api, 3, { workOrder: 'WO-SE', root, applet: (i) => (i === 1 ? '7.2' : '3.1') });
  const [unconfirmed] = await provisionSe050Units(api, 1, { workOrder: 'WO-SE', root, confirm: false });
  const [viaMtls] = await provisionSe050Units(api, 1, { workOrder: 'WO-SE', root });
  const [served] = await provisionSe050Units(api, 1, { workOrder: 'WO-SE', root, applet: () => '7.2' });
  const seFiles: string[] = [];
  for (const c of se) {
    seFiles.push(join(field, se050FileName(c)));
    await saveSe050Image(c, seFiles.at(-1)!);
  }
  const unconfirmedFile = join(spare, se050FileName(unconfirmed!));
  await saveSe050Image(unconfirmed!, unconfirmedFile);
  const mtlsFile = join(spare, se050FileName(viaMtls!));
  await saveSe050Image(viaMtls!, mtlsFile);
  const [a, b, c] = seFiles as [string, string, string];
  const firstBootTrust = () => trustFromFactoryConfig(pki.configPath, PRODUCT);

  // First enrollment: the certificate read from object 20000002 is the one the server issued.
  const first = await bootDevice({ chipFile: a, brokerUrl, firstBootTrust });
  t.match(first, { chip: 'se050', outcome: 'enrolled', counter: 1 });
  t.match(first.serial, /^[0-9A-F]{36}$/, 'the 18-byte unique id is the serial');
  const unit = await api.getUnit(first.serial);
  t.equal(first.fingerprint, unit.fingerprintSha256, 'the DER certificate in the chip is the issued one');
  t.match(unit, { keyOrigin: { chip: 'se050', status: 'verified' } }, 'the unit carries its verified key origin');
  t.equal(await counterIn(a), 1n, 'the counter object moved inside the chip and the image was saved');
  t.match(await loadDeviceState(stateFileFor(a)), { serial: first.serial, enrollment: { group: first.group, counter: 1, reauthentications: 0 } });

  // Re-authentication with the next counter value.
  const second = await bootDevice({ chipFile: a, brokerUrl });
  t.match(second, { chip: 'se050', outcome: 'reauthenticated', counter: 2 });

  // A copy of the chip taken now (counter 2), booted after the real one moved on to 3: its proof
  // carries 3 again, which the server has seen. The same for the 7.2 applet's part.
  for (const file of [a, b]) {
    const before = `${file}.copy`;
    copyFileSync(file, before);
    await bootDevice({ chipFile: file, brokerUrl, firstBootTrust });
    copyFileSync(before, file);
    await t.rejects(bootDevice({ chipFile: file, brokerUrl }), { code: 'REPLAYED' }, `rolled-back ${file === a ? '3.1' : '7.2'} part refused`);
    t.match(await bootDevice({ chipFile: file, brokerUrl }), { outcome: 'reauthenticated' }, 'the part itself goes on: the refused attempt spent its value');
  }

  await t.rejects(bootDevice({ chipFile: unconfirmedFile, brokerUrl, firstBootTrust }), { code: 'UNIT_NOT_CONFIRMED' });

  // Two ATECC608 units into the same folder: a mixed fleet.
  const atecc = await provisionAteccUnits(api, 2, { workOrder: 'WO-608', trust: firstBootTrust() });
  for (const chip of atecc) await saveChipImage(chip, join(field, chipFileName(chip)));

  const fleet = await bootFleet([c, ...atecc.map((x) => join(field, chipFileName(x)))], { brokerUrl, firstBootTrust, concurrency: 3 });
  t.match(fleet.summary, { devices: 3, enrolled: 3, refused: {}, failed: {}, chips: { se050: 1, atecc608: 2 } });
  t.same(fleet.entries.map((e) => (e.ok ? `${e.report.chip}:${e.report.serial.length}` : e.code)).sort(), ['atecc608:18', 'atecc608:18', 'se050:36']);

  // The mTLS shortcut: the broker verifies the SE050's DER certificate (CN = 36-digit unique id)
  // as the client certificate and the service enrolls the client id it names. (A device that
  // connected with its certificate once is bound to it: a spare unit, not one of the fleet.)
  const dc = await openDeviceChip(mtlsFile);
  const certs = await dc.se.readCertificates();
  const serialC = (await dc.se.identity()).serialHex;
  const b64 = (x: Uint8Array) => Buffer.from(x).toString('base64url');
  const pub = await dc.se.publicKey();
  const key = createPrivateKey({ key: { kty: 'EC', crv: 'P-256', d: b64(emulatedDeviceKey(dc)), x: b64(pub.subarray(0, 32)), y: b64(pub.subarray(32)) }, format: 'jwk' });
  const client = await mqtt.connectAsync(brokerUrl, {
    clientId: serialC, protocolVersion: 4, reconnectPeriod: 0, ca: readFileSync(pki.rootCertPath, 'utf8'),
    cert: toPem(certs.device) + certs.chain.map((x) => toPem(x)).join(''), key: key.export({ format: 'pem', type: 'pkcs8' }).toString(),
  });
  try {
    await client.subscribeAsync(enrollResponseTopic(serialC), { qos: 1 });
    const answer = new Promise<Record<string, unknown>>((res) => client.once('message', (_t, p) => res(JSON.parse(p.toString()))));
    await client.publishAsync(enrollMtlsTopic(serialC), JSON.stringify({ type: 'enroll', serial: serialC, correlationId: 'm1' }), { qos: 1 });
    t.match(await answer, { type: 'enrolled', serial: serialC, reenrolled: false }, 'the SE050 certificate authenticates the mTLS shortcut');
  } finally {
    await client.endAsync();
    await dc.se.close();
  }

  // The command line over the mixed folder: every device re-authenticates, each with its chip.
  const cli = await keyline(['device', 'fleet', '--chips', field, '--broker', brokerUrl, '--config', pki.configPath, '--json']);
  t.equal(cli.code, 0, cli.err);
  t.match(JSON.parse(cli.out.trim()), { devices: 5, reauthenticated: 5, chips: { se050: 3, atecc608: 2 } });
  const one = await keyline(['device', 'boot', '--chip', a, '--broker', brokerUrl, '--json']);
  t.equal(one.code, 0, one.err);
  t.match(JSON.parse(one.out.trim()), { state: 'reauthenticated', chip: 'se050', serial: first.serial });

  // Chips behind running emulators: the URL each prints says which chip it serves. The SE050
  // emulator saves the moved counter into its image; the device keeps its state where told.
  const seDir = join(spare, 'se050-served');
  mkdirSync(seDir);
  const servedFile = join(seDir, se050FileName(served!));
  await saveSe050Image(served!, servedFile);
  const se050Service = await serveSe050({ dir: seDir, count: 1, applet: '7.2', host: '127.0.0.1', port: 0, timing: false, rootDir: pki.outDir, log: silentLogger });
  // Closed in the test, not at teardown: closing saves the images, and the folder goes at teardown.
  try {
    const seUrl = `jrcp://127.0.0.1:${se050Service.listeners[0]!.port}`;
    const seState = join(spare, 'served-se050.state');
    t.match(await bootDevice({ emulator: seUrl, stateFile: seState, brokerUrl, firstBootTrust }), { chip: 'se050', outcome: 'enrolled', counter: 1, serial: se050FileName(served!).replace('.json', '') });
    t.match(await bootDevice({ emulator: seUrl, stateFile: seState, brokerUrl }), { outcome: 'reauthenticated', counter: 2 });
    t.equal(await counterIn(servedFile), 2n, 'the emulator saved the counter object in its image');
  } finally {
    await se050Service.close();
  }

  const kitDir = join(spare, 'atecc-served');
  mkdirSync(kitDir);
  copyFileSync(join(field, chipFileName(atecc[0]!)), join(kitDir, chipFileName(atecc[0]!))); // the chip as the field left it (counter moved)
  const stored = await openChipDir(kitDir, 1);
  const kit = new KitServer({ chips: stored.map((x) => x.chip), afterCommand: (i, frame) => (changesPersistentState(frame, stored[i]!.chip) ? saveStoredChip(stored[i]!) : undefined) });
  const kitListener = await listenKitTcp(kit, { host: '127.0.0.1', port: 0 });
  try {
    const viaCli = await keyline(['device', 'boot', '--emulator', `kit://127.0.0.1:${kitListener.port}/0`, '--state', join(spare, 'served-608.state'), '--broker', brokerUrl, '--config', pki.configPath, '--product', PRODUCT, '--json']);
    t.equal(viaCli.code, 0, viaCli.err);
    t.match(JSON.parse(viaCli.out.trim()), { state: 'reauthenticated', chip: 'atecc608', serial: chipFileName(atecc[0]!).replace('.json', '') }, 'an ATECC608 behind the kit endpoint');
    const bare = await keyline(['device', 'boot', '--emulator', `127.0.0.1:${kitListener.port}`]);
    t.equal(bare.code, 2, 'an endpoint that does not say its chip is a usage error');
    t.match(bare.err, /kit:\/\/HOST:PORT\[\/INDEX\] \(ATECC608\) or jrcp:\/\/HOST:PORT \(SE050\)/);
  } finally {
    await kitListener.close();
  }
});
