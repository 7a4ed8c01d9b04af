/**
 * A stand-in for the cloud endpoints, for the device clients' own tests of what the real server
 * does only rarely or never: DPS answers scripted one by one (429 with retry-after, several 202s,
 * a tampered configuration) and AWS answers with a certificate for another key or a tampered
 * configuration. An aedes broker on mutual TLS (the device's chain checked against the test root)
 * with a responder client, as test/firmware-sim/fake-enrollment.ts does for the Keyline protocol.
 */
import { createPrivateKey, sign } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import type { Test } from 'tap';
import { toPem } from '../../common/pem.js';
import { canonicalConfigBytes, canonicalConfigJson } from '../../common/protocol/enrollment.js';
import { createClientCert, createServerTlsCert, type Issuer } from '../../server/ca/profiles.js';
import { generateSoftwareKey } from '../../server/ca/software-key.js';
import { parseCsr } from '../../server/services/public-key.js';
import type { DeviceIssuer } from '../../server/ca/device-issuer.js';

/** One scripted DPS answer: status, body, retry-after. */
export type DpsAnswer = { status: number; body: Record<string, unknown>; retryAfter?: number };

/** What the stand-in answers. */
export interface FakeCloudBehaviour {
  /** DPS answers in order, one per register or poll; `signed` stands for the assigned answer with a signed payload. */
  dps: Array<DpsAnswer | 'signed'>;
  /** AWS: certify the CSR's key, or another one. */
  certifyOtherKey?: boolean;
  /** Change the configuration after signing it (DPS payload and AWS deviceConfiguration). */
  tamper?: boolean;
}

/** The running stand-in. */
export interface FakeCloud {
  url: string;
  behaviour: FakeCloudBehaviour;
  /** Request topics seen, in order. */
  requests: string[];
}

/** Starts the stand-in; `issuer` signs the TLS and config-signer certificates, `devices` the AWS certificates. */
export async function startFakeCloud(t: Test, issuer: Issuer, devices: DeviceIssuer, rootPem: string): Promise<FakeCloud> {
  const tlsKey = generateSoftwareKey();
  const tlsCert = await createServerTlsCert({ issuer, org: 'Keyline Test', spki: tlsKey.spki, ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
  const signerKey = generateSoftwareKey();
  const signerCert = await createClientCert({ issuer, stationId: 'config-signer', org: 'Keyline Test', spki: signerKey.spki });
  const config = { telemetryIntervalSeconds: 60 };
  const signed = {
    group: 'sensors', config: (t_: boolean) => (t_ ? { telemetryIntervalSeconds: 1 } : config),
    configSignature: sign('sha256', canonicalConfigBytes(config), createPrivateKey(signerKey.privateKeyPem)).toString('base64'),
    configSignerCertificate: Buffer.from(signerCert.rawData).toString('base64'),
  };

  const broker = await Aedes.createBroker();
  const server = createTlsServer({
    cert: toPem(new Uint8Array(tlsCert.rawData)) + toPem(new Uint8Array(issuer.cert.rawData)), key: tlsKey.privateKeyPem, requestCert: true, rejectUnauthorized: true, ca: rootPem,
  }, broker.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const fake: FakeCloud = { url: `mqtts://127.0.0.1:${(server.address() as AddressInfo).port}`, behaviour: { dps: [] }, requests: [] };

  const responderKey = generateSoftwareKey();
  const responderCert = await createClientCert({ issuer, stationId: 'responder', org: 'Keyline Test', spki: responderKey.spki });
  const svc = await mqtt.connectAsync(fake.url, {
    clientId: 'fake-cloud', ca: rootPem, cert: toPem(new Uint8Array(responderCert.rawData)) + toPem(new Uint8Array(issuer.cert.rawData)), key: responderKey.privateKeyPem, reconnectPeriod: 0,
  });
  await svc.subscribeAsync(['$dps/registrations/PUT/#', '$dps/registrations/GET/#', '$aws/certificates/#', '$aws/provisioning-templates/#'], { qos: 1 });
  const json = (o: unknown) => Buffer.from(JSON.stringify(o));
  let registrationId = '';
  svc.on('message', (topic, payload) => void answer(topic, payload).catch((err: unknown) => t.error(err)));
  async function answer(topic: string, payload: Buffer): Promise<void> {
    if (topic.endsWith('/accepted') || topic.endsWith('/rejected')) return;
    fake.requests.push(topic);
    const dps = /^\$dps\/registrations\/(?:PUT|GET)\/[^?]+\?(.*)$/.exec(topic);
    if (dps) {
      const rid = new URLSearchParams(dps[1]).get('$rid');
      // One device at a time here: the registration id of the last register names the assignment.
      if (topic.includes('/PUT/')) registrationId = String((JSON.parse(payload.toString()) as { registrationId?: unknown }).registrationId);
      const next = fake.behaviour.dps.shift() ?? { status: 500, body: { errorCode: 500000, message: 'script exhausted' } };
      const a: DpsAnswer = next === 'signed'
        ? { status: 200, body: { operationId: 'op-1', status: 'assigned', registrationState: {
          registrationId, deviceId: registrationId, assignedHub: 'hub.example', status: 'assigned', x509: {},
          payload: { ...signed, config: signed.config(fake.behaviour.tamper ?? false), reenrolled: false },
        } } }
        : next;
      return void svc.publish(`$dps/registrations/res/${a.status}/?$rid=${rid}${a.retryAfter === undefined ? '' : `&retry-after=${a.retryAfter}`}`, json(a.body), { qos: 1 });
    }
    if (topic === '$aws/certificates/create-from-csr/json') {
      const csr = await parseCsr((JSON.parse(payload.toString()) as { certificateSigningRequest: string }).certificateSigningRequest);
      const key = fake.behaviour.certifyOtherKey ? generateSoftwareKey().spki.slice(-64) : csr.publicKey;
      const serial = /CN=([0-9A-F]+)/.exec(csr.subject)![1]!;
      const cert = await devices.issue({ chipSerial: Buffer.from(serial, 'hex'), publicKey: key, product: 'Sensor', issuedAt: new Date() });
      return void svc.publish(`${topic}/accepted`, json({ certificateId: cert.fingerprintSha256, certificatePem: toPem(cert.der), certificateOwnershipToken: 'token-1' }), { qos: 1 });
    }
    const provision = /^\$aws\/provisioning-templates\/([^/]+)\/provision\/json$/.exec(topic);
    if (provision) {
      const c = signed.config(fake.behaviour.tamper ?? false);
      return void svc.publish(`${topic}/accepted`, json({
        thingName: 'thing-1', deviceConfiguration: {
          telemetryIntervalSeconds: String(c.telemetryIntervalSeconds), 'keyline.group': signed.group, 'keyline.config': canonicalConfigJson(c),
          'keyline.configSignature': signed.configSignature, 'keyline.configSignerCertificate': signed.configSignerCertificate, 'keyline.reenrolled': 'false',
        },
      }), { qos: 1 });
    }
  }
  t.teardown(async () => {
    await svc.endAsync();
    await new Promise<void>((r) => broker.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  });
  return fake;
}
