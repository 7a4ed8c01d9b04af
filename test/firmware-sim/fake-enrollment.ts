/**
 * A stand-in for the enrollment service, for the device side's own tests: an aedes broker on
 * TLS (a server certificate from the test PKI) and a responder that speaks the protocol of
 * common/protocol/enrollment.ts: checks the chip's signature and counter like the real service,
 * and can be told to refuse with a code or to tamper with the configuration it signs.
 */
import { createHash, createPrivateKey, randomBytes, sign, verify, X509Certificate } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import type { Test } from 'tap';
import {
  canonicalConfigBytes, certificateFingerprint, encodeMessage, enrollmentSignedBytes, enrollRequest, enrollResponseTopic, parseRequestTopic,
  type EnrollErrorCode, type EnrollResponse,
} from '../../common/protocol/enrollment.js';
import { createServerTlsCert, createClientCert } from '../../server/ca/profiles.js';
import { generateSoftwareKey } from '../../server/ca/software-key.js';
import { toPem } from '../../common/pem.js';
import type { Issuer } from '../../server/ca/profiles.js';

/** Switches a test flips between boots. */
export interface FakeBehaviour {
  /** Refuse every proof with this code. */
  refuse?: EnrollErrorCode;
  /** Change the configuration after signing it (what a man in the middle would do). */
  tamper?: boolean;
  /** Sign the configuration with a key whose certificate is not from the pinned chain. */
  foreignSigner?: boolean;
  /** Record this many enrollments without answering them (an answer lost with the broker), counting down. */
  dropAnswers?: number;
}

/** The running fake. */
export interface FakeEnrollment {
  url: string;
  behaviour: FakeBehaviour;
  /** Serials enrolled, and the last counter seen per serial. */
  enrolled: Set<string>;
  counters: Map<string, number>;
  /** Protocol versions devices connected with. */
  versions: number[];
  /** SHA-256 (hex) of the certificate each serial last said hello with. */
  helloCertificates: Map<string, string>;
}

/** Starts the fake over TLS with a broker certificate issued by `issuer` for 127.0.0.1. */
export async function startFakeEnrollment(t: Test, issuer: Issuer, opts: { plain?: boolean } = {}): Promise<FakeEnrollment> {
  const tlsKey = generateSoftwareKey();
  const tlsCert = await createServerTlsCert({ issuer, org: 'Keyline Test', spki: tlsKey.spki, ipAddresses: ['127.0.0.1'], dnsNames: ['localhost'] });
  const signerKey = generateSoftwareKey();
  const signerCert = await createClientCert({ issuer, stationId: 'config-signer', org: 'Keyline Test', spki: signerKey.spki });
  const signerDer = Buffer.from(signerCert.rawData).toString('base64');
  const foreignKey = generateSoftwareKey();

  const broker = await Aedes.createBroker();
  const fake: FakeEnrollment = { url: '', behaviour: {}, enrolled: new Set(), counters: new Map(), versions: [], helloCertificates: new Map() };
  broker.on('client', (c) => void fake.versions.push((c as unknown as { version: number }).version));
  const server = opts.plain
    ? createServer(broker.handle)
    : createTlsServer({ cert: toPem(new Uint8Array(tlsCert.rawData)) + toPem(new Uint8Array(issuer.cert.rawData)), key: tlsKey.privateKeyPem }, broker.handle);
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  fake.url = `${opts.plain ? 'mqtt' : 'mqtts'}://127.0.0.1:${(server.address() as AddressInfo).port}`;

  // The responder is an ordinary client, as the real service is.
  const nonces = new Map<string, { nonce: string; fingerprint: Buffer }>();
  const svc = await mqtt.connectAsync(fake.url, { clientId: 'fake-enroll', rejectUnauthorized: false, reconnectPeriod: 0 });
  await svc.subscribeAsync('keyline/v1/devices/+/enroll/req', { qos: 1 });
  const certs = new Map<string, X509Certificate>();
  svc.on('message', (topic, payload) => {
    const where = parseRequestTopic(topic);
    if (!where) return;
    const msg = enrollRequest.parse(JSON.parse(payload.toString()));
    const answer = (m: EnrollResponse) => svc.publish(enrollResponseTopic(where.serial), Buffer.from(encodeMessage({ ...m, ...(msg.correlationId ? { correlationId: msg.correlationId } : {}) })), { qos: 1 });
    const refuse = (code: EnrollErrorCode, message: string) => answer({ type: 'error', code, message });
    if (msg.type === 'hello') {
      const der = Buffer.from(msg.deviceCertificate, 'base64');
      certs.set(msg.serial, new X509Certificate(der));
      fake.helloCertificates.set(msg.serial, createHash('sha256').update(der).digest('hex'));
      const nonce = randomBytes(32).toString('hex');
      nonces.set(msg.serial, { nonce, fingerprint: Buffer.from(certificateFingerprint(der)) });
      return answer({ type: 'challenge', serial: msg.serial, nonce, expiresAt: new Date(Date.now() + 60_000).toISOString() });
    }
    if (msg.type !== 'proof') return refuse('MALFORMED_MESSAGE', 'unexpected message');
    const n = nonces.get(msg.serial);
    nonces.delete(msg.serial);
    if (!n || n.nonce !== msg.nonce) return refuse('NONCE_INVALID', 'unknown nonce');
    if (msg.counter <= (fake.counters.get(msg.serial) ?? -1)) return refuse('REPLAYED', `counter ${msg.counter} not above last`);
    // The chip signs SHA-256(signed bytes): ECDSA-with-SHA-256 over the signed bytes.
    const signed = enrollmentSignedBytes({ nonce: Buffer.from(msg.nonce, 'hex'), counter: msg.counter, serial: Buffer.from(msg.serial, 'hex'), certFingerprint: n.fingerprint });
    if (!verify('sha256', signed, { key: certs.get(msg.serial)!.publicKey, dsaEncoding: 'ieee-p1363' }, Buffer.from(msg.signature, 'hex'))) {
      return refuse('SIGNATURE_INVALID', 'signature does not verify');
    }
    if (fake.behaviour.refuse) return refuse(fake.behaviour.refuse, 'refused by the test');
    fake.counters.set(msg.serial, msg.counter);
    const reenrolled = fake.enrolled.has(msg.serial);
    fake.enrolled.add(msg.serial);
    const config = { telemetryIntervalSeconds: 60, serial: msg.serial };
    const signingKey = createPrivateKey(fake.behaviour.foreignSigner ? foreignKey.privateKeyPem : signerKey.privateKeyPem);
    const signature = sign('sha256', canonicalConfigBytes(config), signingKey).toString('base64');
    const sent = fake.behaviour.tamper ? { ...config, telemetryIntervalSeconds: 1 } : config;
    if (fake.behaviour.dropAnswers) return void fake.behaviour.dropAnswers--;
    return answer({ type: 'enrolled', serial: msg.serial, group: 'sensors', config: sent, configSignature: signature, configSignerCertificate: signerDer, reenrolled });
  });
  t.teardown(async () => {
    await svc.endAsync();
    await new Promise<void>((r) => broker.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  });
  return fake;
}
