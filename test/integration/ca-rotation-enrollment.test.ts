/**
 * Devices across an issuing CA rotation (issue 19): a chip provisioned under the first CA and one
 * provisioned after `keyline ca activate --next` (the station writes the chain returned with its
 * certificate) both enroll on the same running server, each answered with a config-signer
 * certificate its own CA certified (what the device checks against the signer certificate on its
 * chip); once the root revokes the first CA, its devices are refused and the others go on.
 */
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fromPem, toPem } from '../../common/pem.js';
import { authorityKeyIdOf, caKeyId } from '../../server/ca/key-id.js';
import { runKeyline, runTool } from '../helpers/keyline-cli.js';
import { makeDevPki } from '../helpers/pki.js';
import { startTestServer } from '../helpers/server.js';
import { chipDevice, MqttDevice } from '../server/enroll/device-client.js';
import { openServerStore, provisionViaServer } from '../server/enroll/server-bed.js';

const pki = await makeDevPki(t);
const dir = pki.outDir;
const server = await startTestServer(t, pki, { KEYLINE_ENROLL_PORT: '0' });
const store = openServerStore(t, pki);
const ca = [readFileSync(pki.rootCertPath, 'utf8'), readFileSync(pki.issuingCertPath, 'utf8')];

/** hello + proof over MQTT; the answer. */
async function enroll(chip: Awaited<ReturnType<typeof chipDevice>>) {
  const d = await MqttDevice.connect(server.mqttUrl!, chip.serial, { ca });
  try {
    const ch = await d.request({ type: 'hello', serial: chip.serial, deviceCertificate: Buffer.from(chip.certDer).toString('base64') });
    if (ch.type !== 'challenge') return ch;
    return await d.request(await chip.prove(ch.nonce));
  } finally {
    await d.close();
  }
}

/** openssl verify of a config-signer certificate through one issuing CA. */
async function signerVerifies(b64: string, issuingPem: string): Promise<boolean> {
  writeFileSync(join(dir, 'cs.pem'), toPem(Buffer.from(b64, 'base64')));
  writeFileSync(join(dir, 'cs-ca.pem'), issuingPem);
  return (await runTool('openssl', ['verify', '-partial_chain', '-CAfile', join(dir, 'cs-ca.pem'), join(dir, 'cs.pem')])).code === 0;
}

t.test('devices of both CAs enroll, each with its own CA\'s config signer; the revoked CA\'s are refused', async (t) => {
  const [chipA] = await provisionViaServer(t, pki, store, server.apiUrl, 1, 'WO-A');
  const a = await chipDevice(chipA!, store);
  const ca1 = caKeyId(pki.issuingDer);
  t.equal(authorityKeyIdOf(a.certDer), ca1);

  t.equal((await runKeyline(['ceremony', 'csr', '--next', '--config', pki.configPath, '--out', join(dir, 'n.csr')])).code, 0);
  const signed = await runKeyline(['ceremony', 'sign-csr', '--csr', join(dir, 'n.csr'), '--root-cert', pki.rootCertPath, '--root-key', 'pkcs11:token=keyline-root;object=root-ca',
    '--pin-file', pki.rootPinPath, '--softhsm-conf', pki.softhsmConf, '--crl-url', 'http://127.0.0.1:8080/crl/root.crl', '--out', join(dir, 'issuing-ca-2.pem')]);
  t.equal(signed.code, 0, signed.out);
  const ca2Pem = readFileSync(join(dir, 'issuing-ca-2.pem'), 'utf8');
  const ca2 = caKeyId(fromPem(ca2Pem));
  const cfg = JSON.parse(readFileSync(pki.configPath, 'utf8'));
  cfg.ca.issuing = [{ cert: 'issuing-ca.pem', key: cfg.hsm.issuingKey, ocspResponderKey: cfg.ca.ocspResponderKey, ocspResponderCert: cfg.ca.ocspResponderCert },
    { cert: 'issuing-ca-2.pem', key: 'pkcs11:token=keyline-line;object=issuing-ca-2', crlUrl: 'http://127.0.0.1:8080/crl/issuing-ca-2.crl' }];
  writeFileSync(pki.configPath, JSON.stringify(cfg, null, 2));
  const activated = await runKeyline(['ca', 'activate', '--next', '--config', pki.configPath]);
  t.equal(activated.code, 0, activated.out);
  await sleep(1500);

  const [chipB] = await provisionViaServer(t, pki, store, server.apiUrl, 1, 'WO-B');
  const b = await chipDevice(chipB!, store);
  t.equal(authorityKeyIdOf(b.certDer), ca2, 'provisioned after the switch: the new CA');

  const ra = await enroll(a);
  const rb = await enroll(b);
  t.match(ra, { type: 'enrolled', serial: a.serial });
  t.match(rb, { type: 'enrolled', serial: b.serial });
  if (ra.type !== 'enrolled' || rb.type !== 'enrolled') return;
  t.ok(await signerVerifies(ra.configSignerCertificate, ca[1]!), 'device A: config signer certified by CA 1');
  t.ok(await signerVerifies(rb.configSignerCertificate, ca2Pem), 'device B: config signer certified by CA 2');
  t.notOk(await signerVerifies(rb.configSignerCertificate, ca[1]!));

  // The root revokes CA 1: its devices are refused, CA 2's go on.
  const revoke = await runKeyline(['ceremony', 'revoke-issuing', '--cert', pki.issuingCertPath, '--reason', 'keyCompromise', '--token', 'keyline-root', '--pin-file', pki.rootPinPath,
    '--softhsm-conf', pki.softhsmConf, '--out', dir, '--witness', 'Alice', '--witness', 'Bob']);
  t.equal(revoke.code, 0, revoke.out);
  t.equal((await runKeyline(['ca', 'import-crl', '--crl', join(dir, 'root-ca.crl'), '--config', pki.configPath])).code, 0);
  await sleep(1500);
  t.match(await enroll(a), { type: 'error', code: 'CERTIFICATE_UNTRUSTED' });
  t.match(await enroll(b), { type: 'enrolled', serial: b.serial, reenrolled: true });
});
