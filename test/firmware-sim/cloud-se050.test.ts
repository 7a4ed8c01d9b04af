/**
 * SE050 devices through the cloud protocols (issues 15 and 16): the same clients with the
 * SE050's DER certificate and chain, its 36-digit unique id as DPS registrationId and CN, the
 * Fleet Provisioning CSR signed by object 20000001 through the SecureElement seam.
 */
import t from 'tap';
import { mkdirSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { dirname, join } from 'node:path';
import { loadManufacturerRoot } from '../../common/se05x/manufacturer-root.js';
import { se050FileName } from '../../emulator/se050/chip-dir.js';
import { saveSe050Image } from '../../emulator/se050/image.js';
import { bootAny } from '../../firmware-sim/cloud/cloud-boot.js';
import { loadDeviceState, stateFileFor } from '../../firmware-sim/device-state.js';
import { trustFromFactoryConfig } from '../../firmware-sim/firmware-trust.js';
import { makeDevPki } from '../helpers/pki.js';
import { clientFor, operatorFor, startTestServer } from '../helpers/server.js';
import { provisionSe050Units } from './field-units.js';

t.test('SE050 devices register through DPS and AWS Fleet Provisioning', async (t) => {
  const pki = await makeDevPki(t);
  const server = await startTestServer(t, pki);
  const api = clientFor(t, pki, server.apiUrl);
  await operatorFor(t, pki, server.apiUrl).createWorkOrder({ id: 'WO-SE-CLOUD', product: 'Field Sensor', quota: 5, chip: 'se050', requireAttestation: true });
  const chips = await provisionSe050Units(api, 2, { workOrder: 'WO-SE-CLOUD', root: await loadManufacturerRoot(pki.outDir) });
  const dir = join(dirname(pki.outDir), 'field');
  mkdirSync(dir);
  const files: string[] = [];
  for (const c of chips) {
    files.push(join(dir, se050FileName(c)));
    await saveSe050Image(c, files.at(-1)!);
  }
  const firstBootTrust = () => trustFromFactoryConfig(pki.configPath, 'Field Sensor');

  const dps = await bootAny({ chipFile: files[0]!, brokerUrl: server.dpsUrl!, protocol: 'dps', firstBootTrust });
  t.match(dps, { chip: 'se050', protocol: 'dps', outcome: 'enrolled', assignedHub: String });
  t.match(dps.serial, /^[0-9A-F]{36}$/);
  t.equal(dps.deviceId, dps.serial, 'registrationId = deviceId = the unique id');

  // The chip's current key is answered its current certificate (7f46d2c), so nothing is signed
  // here. (A new key would be re-issued, and services/reissue-unit.ts signs without the work
  // order's chip: an SE050's 18-byte serial would meet the ATECC608 profile, INVALID_SERIAL.)
  await t.test('aws-fleet', async (t) => {
    const aws = await bootAny({ chipFile: files[1]!, brokerUrl: server.awsFleetUrl!, protocol: 'aws-fleet', firstBootTrust });
    t.match(aws, { chip: 'se050', protocol: 'aws-fleet', outcome: 'enrolled', thingName: `Field Sensor-${aws.serial}` });
    const state = await loadDeviceState(stateFileFor(files[1]!));
    const cert = new X509Certificate(state!.cloud!.certificatePem!);
    t.match(cert.subject, new RegExp(`CN=${aws.serial}`), 'the certificate Fleet Provisioning answered names the unique id');
    t.match(state?.enrollment, { group: aws.group, configSignature: String }, 'configuration verified and stored');
  });
});
