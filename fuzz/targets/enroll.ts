/**
 * Target `enroll`: server/enroll/handler.ts `createEnrollHandler` with a recording Broker, the real
 * enrollment service (server/enroll/enrollment-service.ts) and the provisioning service over one
 * SQLite store holding provisioned units (confirmed, only issued, quarantined). Inputs are short
 * device sessions: hello with the device's own certificate, another's, a mutated one or garbage;
 * proof with the fresh nonce or a spent, foreign or random one, the next counter or a replayed one,
 * a valid, flipped or foreign signature; the mTLS shortcut on either topic; hostile JSON built from
 * valid messages; raw and oversized payloads; and topics that are not ours. Each request topic
 * gets exactly one answer on the device's enroll/res topic, a valid message with a known wire
 * code (never INTERNAL), its correlation id echoed; the protocol's own flow (challenge, then
 * enrolled) succeeds for a confirmed unit; other topics get nothing. After the run: enrollment
 * records only for confirmed units, one per unit answered enrolled first, and the audit chain verifies.
 */
import { createHash, sign, type KeyObject } from 'node:crypto';
import fc from 'fast-check';
import {
  ENROLL_ERROR_CODES, MAX_MESSAGE_BYTES, enrollMtlsTopic, enrollRequestTopic, enrollResponse, enrollResponseTopic, enrollmentSignedBytes, type EnrollResponse,
} from '../../common/protocol/enrollment.js';
import { unitIssueRequest } from '../../common/protocol/station-api.js';
import { validate } from '../../server/api/middleware/body.js';
import { createConfigSignerCert } from '../../server/ca/profiles.js';
import { verifyAuditChain } from '../../server/audit/audit-log.js';
import { configSignatureValid, configSignerOf } from '../../server/enroll/config-signer.js';
import { DeviceTrust } from '../../server/enroll/device-trust.js';
import { createEnrollmentService } from '../../server/enroll/enrollment-service.js';
import { createEnrollHandler } from '../../server/enroll/handler.js';
import { DeviceRequestLimiter } from '../../server/enroll/device-request-limiter.js';
import type { Broker, MessageHandler, MessageProperties } from '../../server/enroll/broker.js';
import { createSoftSigner } from '../../test/helpers/soft-signer.js';
import { p256FromSeed, p256PrivateFromSeed, provisioningBed, serialOf, type ProvisioningBed } from '../bed.js';
import { clip, ensure, FuzzFinding, type FuzzTarget } from '../harness.js';
import { hostileJsonFrom } from '../json-text.js';
import { hostileDer } from '../mutate-bytes.js';

/** A provisioned device (or the one serial with no unit). */
interface Device {
  serial: string;
  certDer: Uint8Array;
  key: KeyObject;
  state: 'confirmed' | 'issued' | 'quarantined' | 'none';
}

type Cid = string | null;
type Step =
  | { kind: 'hello'; device: number; cert: 'own' | 'other' | 'mutated' | 'garbage'; mutated: Uint8Array; cid: Cid }
  | { kind: 'proof'; device: number; nonce: 'fresh' | 'foreign' | 'random' | 'spent'; counter: 'next' | 'skip' | 'same' | 'max' | 'huge'; sig: 'valid' | 'flipped' | 'foreign'; cid: Cid }
  | { kind: 'enroll'; device: number; mtls: boolean; cid: Cid }
  | { kind: 'text'; device: number; mtls: boolean; text: string }
  | { kind: 'bytes'; device: number; bytes: Uint8Array }
  | { kind: 'foreign-topic'; topic: string };

interface Input {
  steps: Step[];
  correlationData: Uint8Array | null;
}

const STATES: Device['state'][] = ['confirmed', 'confirmed', 'confirmed', 'confirmed', 'confirmed', 'issued', 'quarantined'];

/** A correlation id the schema takes (absent, or 1-64 characters). */
const cidOk = (cid: Cid) => cid === null || (cid.length >= 1 && cid.length <= 64);

/** Provisions the devices: units issued on one work order, most confirmed, one quarantined. */
async function provision(bed: ProvisioningBed): Promise<Device[]> {
  await bed.prov.createWorkOrder({ id: 'WO-E', product: 'Sensor', quota: 100 }, 'operator-01');
  const station = { id: 'station-01', role: 'station' as const };
  const devices: Device[] = [];
  for (const [i, state] of STATES.entries()) {
    const serial = serialOf(0xe000 + i);
    // Through the route's schema, as the API would pass it.
    const r = await bed.prov.issueUnit(validate(unitIssueRequest, { serial, publicKey: Buffer.from(p256FromSeed(900_000 + i)).toString('hex'), workOrder: 'WO-E' }), station.id);
    if (state !== 'issued') await bed.prov.confirmUnit(serial, { fingerprintSha256: r.fingerprintSha256 }, station);
    if (state === 'quarantined') await bed.prov.quarantineUnit(serial, 'fuzz: set aside', { id: 'officer-01', role: 'security-officer' });
    devices.push({ serial, certDer: r.certificateDer, key: p256PrivateFromSeed(900_000 + i), state });
  }
  // A serial with no unit, shown a real certificate of another device.
  devices.push({ serial: serialOf(0xefff), certDer: devices[0]!.certDer, key: devices[0]!.key, state: 'none' });
  return devices;
}

function arbitrary(devices: readonly Device[]): fc.Arbitrary<Input> {
  const device = fc.oneof({ weight: 6, arbitrary: fc.nat(4) }, { weight: 2, arbitrary: fc.nat(devices.length - 1) });
  const cid: fc.Arbitrary<Cid> = fc.oneof({ weight: 3, arbitrary: fc.constant(null) }, { weight: 3, arbitrary: fc.stringMatching(/^[a-z0-9-]{1,16}$/) }, { weight: 1, arbitrary: fc.constantFrom('', 'x'.repeat(65), '\u0000') });
  const certs = hostileDer([devices[0]!.certDer]);
  const msg = (d: number, type: string) => ({ type, serial: devices[d]!.serial });
  const templates = device.chain((d) => fc.constantFrom<Record<string, unknown>>(
    { ...msg(d, 'hello'), deviceCertificate: Buffer.from(devices[d]!.certDer).toString('base64'), correlationId: 'c-1' },
    { ...msg(d, 'proof'), nonce: 'ab'.repeat(32), counter: 7, signature: 'cd'.repeat(64), correlationId: 'c-2' },
    { ...msg(d, 'enroll'), correlationId: 'c-3' },
  ).map((doc) => ({ d, doc })));
  const step: fc.Arbitrary<Step> = fc.oneof(
    { weight: 4, arbitrary: fc.record({ kind: fc.constant('hello' as const), device, cert: fc.constantFrom('own', 'own', 'own', 'other', 'mutated', 'garbage'), mutated: certs, cid }) },
    {
      weight: 4,
      arbitrary: fc.record({
        kind: fc.constant('proof' as const), device,
        nonce: fc.constantFrom('fresh', 'fresh', 'fresh', 'foreign', 'random', 'spent'), counter: fc.constantFrom('next', 'next', 'skip', 'same', 'max', 'huge'),
        sig: fc.constantFrom('valid', 'valid', 'flipped', 'foreign'), cid,
      }),
    },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('enroll' as const), device, mtls: fc.boolean(), cid }) },
    { weight: 3, arbitrary: fc.tuple(templates, fc.boolean()).chain(([{ d, doc }, mtls]) => hostileJsonFrom(fc.constant(doc)).map((text): Step => ({ kind: 'text', device: d, mtls, text }))) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('bytes' as const), device, bytes: fc.oneof(fc.uint8Array({ maxLength: 64 }), fc.constant(new Uint8Array(MAX_MESSAGE_BYTES + 1).fill(0x20))) }) },
    { weight: 1, arbitrary: fc.record({ kind: fc.constant('foreign-topic' as const), topic: fc.oneof(fc.constantFrom(`keyline/v1/devices/${devices[0]!.serial.toLowerCase()}/enroll/req`, `keyline/v1/devices/${devices[0]!.serial}/enroll/res`, 'keyline/v1/devices//enroll/req', '#'), fc.string({ maxLength: 40 })) }) },
  );
  return fc.record({ steps: fc.array(step, { minLength: 1, maxLength: 3 }), correlationData: fc.option(fc.uint8Array({ minLength: 1, maxLength: 8 }), { freq: 4 }) });
}

/** The target. */
export const enrollTarget: FuzzTarget<Input> = {
  name: 'enroll',
  summary: 'createEnrollHandler + enrollment service over SQLite: one valid answer per request topic (never INTERNAL), the challenge flow works, nothing for foreign topics; store and audit chain after',
  heapBoundBytes: 32 * 1024 * 1024,
  async setup() {
    const bed = await provisioningBed('enroll');
    const devices = await provision(bed);
    const csSigner = createSoftSigner(undefined, 'soft:config-signer');
    const csSpki = await csSigner.publicKeySpki();
    const csCert = await createConfigSignerCert({ issuer: bed.issuing, org: 'Keyline Fuzz', spki: csSpki });
    const service = createEnrollmentService({
      store: bed.store, trust: new DeviceTrust(bed.issuingDer), configSigner: configSignerOf(csSigner, new Uint8Array(csCert.rawData)),
      groups: [{ match: { product: 'Sensor' }, group: 'sensors', config: { telemetryIntervalS: 30, '10': 'a', '9': ['b'] } }],
      defaultGroup: { group: 'default', config: {} }, nonceTtlSeconds: 600,
    });
    // The count of answers and the last one (keeping all would be the run's own memory leak).
    const published = { count: 0, last: null as { topic: string; payload: Uint8Array; props?: MessageProperties } | null };
    let wake: (() => void) | null = null;
    const broker: Broker = {
      async subscribe() {},
      async publish(topic, payload, _qos, props) {
        published.count++;
        published.last = { topic, payload, ...(props ? { props } : {}) };
        wake?.();
      },
      async close() {},
    };
    const handler: MessageHandler = createEnrollHandler({ broker, service, limiter: new DeviceRequestLimiter({ perMinute: 100_000 }) });
    // What the run knows of each device: its fresh nonce (and the certificate it was issued for), spent nonces, last counter.
    const fresh = new Map<number, { nonce: string; certDer: Uint8Array }>();
    const spent: string[] = [];
    const lastCounter = new Map<number, number>();
    const enrolledFirst = new Set<string>();

    /** Delivers one PUBLISH and returns the answers it caused (waits for one, or a few turns for none). */
    async function deliver(topic: string, payload: Uint8Array, props: MessageProperties, expectAnswer: boolean): Promise<EnrollResponse | null> {
      const before = published.count;
      handler(topic, payload, props);
      if (!expectAnswer) {
        for (let i = 0; i < 3; i++) await new Promise((r) => setImmediate(r));
        ensure(published.count === before, () => `a message on '${clip(topic, 80)}' was answered`);
        return null;
      }
      if (published.count === before) {
        await new Promise<void>((resolve, reject) => {
          const timer = setTimeout(() => reject(new FuzzFinding(`no answer within 5 s on ${topic}`)), 5000);
          wake = () => {
            clearTimeout(timer);
            wake = null;
            resolve();
          };
        });
      }
      ensure(published.count === before + 1, `${published.count - before} answers to one request`);
      const out = published.last!;
      return judgeWire(out, topic, payload, props);
    }

    function judgeWire(out: { topic: string; payload: Uint8Array; props?: MessageProperties }, topic: string, payload: Uint8Array, props: MessageProperties): EnrollResponse {
      const serial = topic.split('/')[3]!;
      ensure(out.topic === enrollResponseTopic(serial), `answered on ${out.topic}`);
      let msg: EnrollResponse;
      try {
        msg = enrollResponse.parse(JSON.parse(Buffer.from(out.payload).toString('utf8')));
      } catch (err) {
        throw new FuzzFinding(`answer is not a valid enrollment message: ${clip(Buffer.from(out.payload).toString('utf8'), 200)} (${(err as Error).message.slice(0, 200)})`);
      }
      if (msg.type === 'error') {
        ensure(ENROLL_ERROR_CODES.includes(msg.code), `unknown wire code ${msg.code}`);
        ensure(msg.code !== 'INTERNAL', () => `INTERNAL answer to ${clip(Buffer.from(payload).toString('utf8'), 200)}`);
      }
      if (props.correlationData) ensure(out.props?.correlationData && Buffer.from(out.props.correlationData).equals(Buffer.from(props.correlationData)), 'MQTT 5 correlation data not echoed');
      let sent: unknown;
      try {
        sent = JSON.parse(Buffer.from(payload).toString('utf8'));
      } catch {
        sent = null;
      }
      const cid = (sent as { correlationId?: unknown } | null)?.correlationId;
      if (typeof cid === 'string' && cid.length >= 1 && cid.length <= 64 && payload.length <= MAX_MESSAGE_BYTES) ensure(msg.correlationId === cid, `correlationId ${JSON.stringify(cid)} not echoed`);
      if (msg.type === 'enrolled') {
        ensure(configSignatureValid(msg.config, Buffer.from(msg.configSignature, 'base64'), csSpki), 'enrolled config signature does not verify');
        if (!msg.reenrolled) {
          ensure(!enrolledFirst.has(msg.serial), `${msg.serial} enrolled for the first time twice`);
          enrolledFirst.add(msg.serial);
        }
      }
      return msg;
    }

    const json = (o: Record<string, unknown>, cid: Cid) => new Uint8Array(Buffer.from(JSON.stringify(cid === null ? o : { ...o, correlationId: cid })));

    return {
      arbitrary: arbitrary(devices),
      async check(input) {
        const props: MessageProperties = input.correlationData ? { correlationData: input.correlationData } : {};
        const labels: string[] = [];
        for (const step of input.steps) {
          if (step.kind === 'foreign-topic') {
            await deliver(step.topic, json({ type: 'enroll', serial: devices[0]!.serial }, null), props, /^keyline\/v1\/devices\/[0-9A-F]{18}\/enroll\/(req|mtls)$/.test(step.topic));
            labels.push('foreign topic');
            continue;
          }
          const dev = devices[step.device]!;
          const reqTopic = enrollRequestTopic(dev.serial);
          let answer: EnrollResponse | null;
          if (step.kind === 'hello') {
            const cert = step.cert === 'own' ? dev.certDer : step.cert === 'other' ? devices[(step.device + 1) % devices.length]!.certDer : step.cert === 'mutated' ? step.mutated : new Uint8Array(8);
            answer = await deliver(reqTopic, json({ type: 'hello', serial: dev.serial, deviceCertificate: Buffer.from(cert).toString('base64') }, step.cid), props, true);
            if (answer?.type === 'challenge') fresh.set(step.device, { nonce: answer.nonce, certDer: cert });
            // The protocol's own flow: a confirmed unit showing its own certificate gets a challenge.
            if (step.cert === 'own' && dev.state === 'confirmed' && cidOk(step.cid)) ensure(answer?.type === 'challenge', () => `hello of confirmed ${dev.serial} answered ${JSON.stringify(answer)}`);
          } else if (step.kind === 'proof') {
            const f = fresh.get(step.device);
            const foreign = [...fresh.entries()].find(([d]) => d !== step.device)?.[1];
            const nonce = step.nonce === 'fresh' ? f?.nonce : step.nonce === 'foreign' ? foreign?.nonce : step.nonce === 'spent' ? spent[spent.length - 1] : undefined;
            const last = lastCounter.get(step.device) ?? 0;
            const counter = { next: last + 1, skip: last + 1000, same: last, max: 0xffffffff, huge: 2 ** 32 }[step.counter];
            const nonceHex = nonce ?? 'ab'.repeat(32);
            const certDer = (step.nonce === 'fresh' ? f?.certDer : foreign?.certDer) ?? dev.certDer;
            let signature = '00'.repeat(64);
            if (counter <= 0xffffffff) {
              const signed = enrollmentSignedBytes({ nonce: Buffer.from(nonceHex, 'hex'), counter, serial: Buffer.from(dev.serial, 'hex'), certFingerprint: createHash('sha256').update(certDer).digest() });
              const key = step.sig === 'foreign' ? devices[(step.device + 1) % devices.length]!.key : dev.key;
              const sig = sign('sha256', signed, { key, dsaEncoding: 'ieee-p1363' });
              // The last counter value is never accepted here: it would end the device's proofs for the rest of the run.
              if (step.sig === 'flipped' || step.counter === 'max') sig[5]! ^= 0x10;
              signature = sig.toString('hex');
            }
            answer = await deliver(reqTopic, json({ type: 'proof', serial: dev.serial, nonce: nonceHex, counter, signature }, step.cid), props, true);
            if (nonce) {
              // Any proof that names a nonce spends it, whoever it was issued to.
              spent.push(nonce);
              if (spent.length > 16) spent.shift();
              for (const [d, v] of fresh) if (v.nonce === nonce) fresh.delete(d);
            }
            if (answer?.type === 'enrolled') lastCounter.set(step.device, counter);
            const clean = step.nonce === 'fresh' && f && f.certDer === dev.certDer && step.counter === 'next' && counter <= 0xffffffff && step.sig === 'valid' && dev.state === 'confirmed' && cidOk(step.cid);
            if (clean) ensure(answer?.type === 'enrolled', () => `a correct proof of confirmed ${dev.serial} answered ${JSON.stringify(answer)}`);
          } else if (step.kind === 'enroll') {
            answer = await deliver(step.mtls ? enrollMtlsTopic(dev.serial) : reqTopic, json({ type: 'enroll', serial: dev.serial }, step.cid), props, true);
          } else if (step.kind === 'text') {
            answer = await deliver(step.mtls ? enrollMtlsTopic(dev.serial) : reqTopic, new Uint8Array(Buffer.from(step.text)), props, true);
          } else {
            answer = await deliver(reqTopic, step.bytes, props, true);
          }
          labels.push(answer?.type === 'error' ? `${step.kind} ${answer.code}` : `${step.kind} ${answer?.type}`);
        }
        return labels[labels.length - 1];
      },
      async afterAll() {
        const rows = bed.db.prepare('SELECT e.serial, u.status FROM enrollments e JOIN units u ON u.serial = e.serial').all() as Array<{ serial: string; status: string }>;
        ensure(rows.every((r) => r.status === 'confirmed'), `enrollment records for units not confirmed: ${rows.filter((r) => r.status !== 'confirmed').map((r) => r.serial).join(', ')}`);
        ensure(rows.length === enrolledFirst.size && rows.every((r) => enrolledFirst.has(r.serial)), `${rows.length} enrollment records, ${enrolledFirst.size} first enrollments answered`);
        const chain = await verifyAuditChain(bed.store);
        ensure(chain.ok, () => `audit chain broken: ${JSON.stringify(chain)}`);
      },
      close: () => bed.close(),
    };
  },
};
