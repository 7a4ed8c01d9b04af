/**
 * The cloud endpoints from outside (issue 16): the real `keyline server --workers 2` on the dev
 * config `keyline ceremony init --dev` writes prints `aws-fleet mqtts://…` and `dps mqtts://…`
 * beside its other listeners, and the official device SDKs provision through exactly the printed
 * URLs (worker 1 runs the endpoints; the primary prints its URLs). SIGTERM ends the tree.
 */
import t from 'tap';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEV_FLEET_TEMPLATE } from '../../server/ceremony/dev-config.js';
import { makeDevPki } from '../helpers/pki.js';
import { csrPem, issueCloudDevices } from '../helpers/cloud-devices.js';
import { dpsClient, fleetIdentityClient } from '../helpers/cloud-sdk-clients.js';

const KEYLINE_BIN = fileURLToPath(new URL('../../bin/keyline.js', import.meta.url));
const pki = await makeDevPki(t);
const rootPem = readFileSync(pki.rootCertPath, 'utf8');

t.test('keyline server --workers 2 prints both endpoints and the SDKs provision through them', async (t) => {
  const child = spawn(process.execPath, [KEYLINE_BIN, 'server', '--config', pki.configPath, '--workers', '2'], {
    env: { ...process.env, KEYLINE_SERVER_PORT: '0', KEYLINE_SERVER_PUBLIC_PORT: '0', KEYLINE_ENROLL_PORT: '0', KEYLINE_LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.teardown(() => {
    if (child.exitCode === null) child.kill('SIGKILL');
  });
  let err = '';
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const out = await new Promise<string>((resolve, reject) => {
    let text = '';
    child.stdout.on('data', (d: Buffer) => {
      text += d.toString();
      if (/^console /m.test(text)) resolve(text);
    });
    void exited.then((code) => reject(new Error(`server exited ${code} before it was ready: ${err}`)));
  });
  const lines = out.trim().split('\n').map((l) => l.split(' ')[0]);
  t.same(lines, ['api', 'public', 'mqtt', 'aws-fleet', 'dps', 'console'], 'one line per listener, in order');
  const url = (name: string) => new URL(new RegExp(`^${name} (\\S+)$`, 'm').exec(out)![1]!);
  const [fleet, dps] = [url('aws-fleet'), url('dps')];
  t.equal(fleet.protocol, 'mqtts:');
  t.equal(dps.protocol, 'mqtts:');

  const [a, b] = await issueCloudDevices(t, pki, url('api').origin, 2, 'WO-CLOUD-WORKERS');
  const state = await dpsClient(Number(dps.port), rootPem, b!).register();
  t.match(state, { registrationId: b!.serial, status: 'assigned', assignedHub: 'keyline-dev-hub.azure-devices.net' }, 'DPS through the printed URL');
  const id = await fleetIdentityClient(t, Number(fleet.port), rootPem, a!.certPem, a!.keyPem, `thing-${a!.serial}`);
  const created = await id.createCertificateFromCsr({ certificateSigningRequest: csrPem(pki.outDir, a!.keyPem, a!.serial) });
  const thing = await id.registerThing({ templateName: DEV_FLEET_TEMPLATE, certificateOwnershipToken: created.certificateOwnershipToken!, parameters: {} });
  t.equal(thing.thingName, `Sensor-${a!.serial}`, 'AWS Fleet Provisioning through the printed URL');

  child.kill('SIGTERM');
  t.equal(await exited, 0, 'SIGTERM ends the server');
});
