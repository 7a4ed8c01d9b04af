/**
 * RegisterThing has one outcome (AWS IoT Fleet Provisioning, issue 16): the enrollment, the new
 * certificate made current and the 'aws-fleet.thing-registered' record commit together, or none
 * of them does. The refusal here is one only activation applies (standing and the enrollment
 * rules pass): two devices asked for certificates of the same key, both pending; the first
 * RegisterThing makes the key its unit's, so the second's activation is refused DUPLICATE_KEY,
 * and its enrollment, enrollment audit and thing record must not be left behind. Driven by AWS's
 * own device SDK against the real server, on SQLite and on PostgreSQL, the store read directly.
 */
import t, { type Test } from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { iotidentity } from 'aws-iot-device-sdk-v2';
import { DEV_FLEET_TEMPLATE } from '../../server/ceremony/dev-config.js';
import { openStore } from '../../server/store/open-store.js';
import type { Store, Tx } from '../../server/store/store.js';
import { makeDevPki } from '../helpers/pki.js';
import { freshPgDatabase, pgSkipReason } from '../helpers/postgres.js';
import { startTestServer } from '../helpers/server.js';
import { csrPem, issueCloudDevices, secondKeyPem, type CloudTestDevice } from '../helpers/cloud-devices.js';
import { fleetIdentityClient } from '../helpers/cloud-sdk-clients.js';

/** The rejected payload of a request the SDK reports as a ServiceError. */
const rejected = (p: Promise<unknown>) => p.then(() => { throw new Error('accepted'); }, (e: { modeledError?: unknown }) => e.modeledError);

/** What RegisterThing writes for a unit (besides the certificate itself). */
const REGISTERED = ['device.enrolled', 'device.reauthenticated', 'unit.reenrolled', 'aws-fleet.thing-registered'];

async function oneOutcome(t: Test, env: Record<string, string>): Promise<void> {
  const pki = await makeDevPki(t);
  const server = await startTestServer(t, pki, env);
  const store: Store = await openStore(env.KEYLINE_STORE_URL ?? `sqlite:${join(pki.outDir, 'keyline.db')}`);
  t.teardown(() => store.close());
  const rootPem = readFileSync(pki.rootCertPath, 'utf8');
  const port = Number(new URL(server.awsFleetUrl!).port);
  const read = <T>(fn: (tx: Tx) => Promise<T>) => store.transaction(fn, { readOnly: true });
  const actions = async (serial: string) => (await read((tx) => tx.audit.listBySubject([serial], 100))).map((r) => r.action);
  let clients = 0;
  const client = (dev: CloudTestDevice, cert = dev.certPem, key = dev.keyPem) => fleetIdentityClient(t, port, rootPem, cert, key, `thing-${dev.serial}-${++clients}`);
  const register = (id: iotidentity.IotIdentityClientv2, token: string) => id.registerThing({ templateName: DEV_FLEET_TEMPLATE, certificateOwnershipToken: token, parameters: {} });

  const [a, b] = await issueCloudDevices(t, pki, server.apiUrl, 2, 'WO-AWS-ONE');
  const [ia, ib] = [await client(a!), await client(b!)];
  const shared = secondKeyPem();
  const pendingA = await ia.createCertificateFromCsr({ certificateSigningRequest: csrPem(pki.outDir, shared, a!.serial) });
  const pendingB = await ib.createCertificateFromCsr({ certificateSigningRequest: csrPem(pki.outDir, shared, b!.serial) });

  // B claims the key first: everything recorded, in one transaction.
  const thingB = await register(ib, pendingB.certificateOwnershipToken!);
  t.equal(thingB.thingName, `Sensor-${b!.serial}`);
  t.match(thingB.deviceConfiguration, { 'keyline.group': 'default', 'keyline.reenrolled': 'false' });
  t.match(await read((tx) => tx.units.getBySerial(b!.serial)), { fingerprintSha256: pendingB.certificateId }, "B: the pending certificate is the unit's");
  t.match(await read((tx) => tx.enrollment.get(b!.serial)), { serial: b!.serial, method: 'mtls', group: 'default' }, 'B: enrolled');
  t.same((await actions(b!.serial)).filter((x) => REGISTERED.includes(x)), ['device.enrolled', 'aws-fleet.thing-registered', 'unit.reenrolled'], 'B: every record, in order');

  // A's activation is refused: nothing of RegisterThing stays.
  t.match(await rejected(register(ia, pendingA.certificateOwnershipToken!)), { statusCode: 409, errorCode: 'ResourceAlreadyExists', errorMessage: /DUPLICATE_KEY/ }, 'A: refused by activation');
  t.match(await read((tx) => tx.units.getBySerial(a!.serial)), { fingerprintSha256: a!.fingerprint, certificateSerial: a!.certificateSerial }, 'A: still the line certificate');
  t.equal(await read((tx) => tx.enrollment.get(a!.serial)), null, 'A: no enrollment record');
  t.same((await actions(a!.serial)).filter((x) => REGISTERED.includes(x)), [], 'A: no enrollment, re-enrollment or thing record');
  t.match(await rejected(register(ia, pendingA.certificateOwnershipToken!)), { statusCode: 400, errorCode: 'InvalidCertificateOwnershipToken', errorMessage: /already used/ }, 'the token stays spent');

  // A with a key of its own: its first enrollment (nothing was left of the refused one).
  const own = secondKeyPem();
  const created = await ia.createCertificateFromCsr({ certificateSigningRequest: csrPem(pki.outDir, own, a!.serial) });
  const thingA = await register(ia, created.certificateOwnershipToken!);
  t.equal(thingA.thingName, `Sensor-${a!.serial}`);
  t.match(thingA.deviceConfiguration, { 'keyline.group': 'default', 'keyline.reenrolled': 'false' }, 'A: enrolled for the first time');
  t.match(await read((tx) => tx.units.getBySerial(a!.serial)), { fingerprintSha256: created.certificateId });
  t.match(await read((tx) => tx.enrollment.get(a!.serial)), { serial: a!.serial, method: 'mtls', group: 'default' });
  t.same((await actions(a!.serial)).filter((x) => REGISTERED.includes(x)), ['device.enrolled', 'aws-fleet.thing-registered', 'unit.reenrolled']);

  // The current key's certificate (nothing to activate): enrollment and thing record together.
  const ia2 = await client(a!, created.certificatePem!, own);
  const current = await ia2.createCertificateFromCsr({ certificateSigningRequest: csrPem(pki.outDir, own, a!.serial) });
  t.equal(current.certificateId, created.certificateId, "the current key: the unit's current certificate");
  const again = await register(ia2, current.certificateOwnershipToken!);
  t.match(again.deviceConfiguration, { 'keyline.reenrolled': 'true' });
  t.same((await actions(a!.serial)).filter((x) => REGISTERED.includes(x)), ['device.enrolled', 'aws-fleet.thing-registered', 'unit.reenrolled', 'device.reauthenticated', 'aws-fleet.thing-registered']);
}

t.test('RegisterThing refused by activation leaves nothing; accepted, it records everything (SQLite)', (t) => oneOutcome(t, {}));

t.test('the same on PostgreSQL', { skip: pgSkipReason() }, async (t) => oneOutcome(t, { KEYLINE_STORE_URL: await freshPgDatabase() }));
