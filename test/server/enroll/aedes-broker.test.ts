import t, { type Test } from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { toPem } from '../../../common/pem.js';
import { enrollMtlsTopic, enrollRequestTopic, enrollResponseTopic } from '../../../common/protocol/enrollment.js';
import { chipDevice, MqttDevice } from './device-client.js';
import { makeEnrollBed, startEmbedded } from './fixture.js';
import { softDevice } from './mtls-identity.js';

t.test('embedded broker: enrollment over MQTT 3.1.1, topic isolation, mTLS shortcut', async (t) => {
  const bed = await makeEnrollBed(t, 3);
  const { url } = await startEmbedded(t, bed, { rateLimitPerMinute: 600 });
  const ca = [bed.rootPem, toPem(bed.issuingDer)];
  const [a, b, c] = await Promise.all(bed.chips.map((chip) => chipDevice(chip, bed.store)));
  // Each subtest closes its connections: a second connection without a certificate never
  // displaces a connected one with the same client id (issue 11), so none may linger.
  const conn = (t: Test, serial: string, o: Partial<Parameters<typeof MqttDevice.connect>[2]> = {}) => MqttDevice.connect(url, serial, { ca, ...o }).then((d) => {
    t.teardown(() => d.close());
    return d;
  });

  await t.test('hello → challenge → proof → enrolled, correlationId echoed', async (t) => {
    const d = await conn(t, a!.serial);
    const ch = await d.request({ type: 'hello', serial: a!.serial, deviceCertificate: Buffer.from(a!.certDer).toString('base64') });
    t.equal(ch.type, 'challenge');
    if (ch.type !== 'challenge') return;
    t.ok(ch.correlationId);
    const proof = await a!.prove(ch.nonce);
    const res = await d.request(proof);
    t.match(res, { type: 'enrolled', serial: a!.serial, group: 'default', reenrolled: false });

    await t.test('the captured proof re-published is refused', async (t) => {
      const again = await d.request(proof);
      t.match(again, { type: 'error', code: 'NONCE_INVALID' });
    });
  });

  await t.test('malformed messages get MALFORMED_MESSAGE on the answer topic', async (t) => {
    const d = await conn(t, b!.serial);
    t.match(await d.request(new TextEncoder().encode('{not json')), { type: 'error', code: 'MALFORMED_MESSAGE' });
    t.match(await d.request({ type: 'hello', serial: b!.serial }), { type: 'error', code: 'MALFORMED_MESSAGE' });
    t.match(await d.request({ type: 'hello', serial: c!.serial, deviceCertificate: Buffer.from(c!.certDer).toString('base64') }), { type: 'error', code: 'MALFORMED_MESSAGE' }, 'body serial must be the topic serial');
    t.match(await d.request({ type: 'enroll', serial: b!.serial }), { type: 'error', code: 'MALFORMED_MESSAGE' }, 'enroll only on the mTLS topic');
  });

  await t.test("a device cannot subscribe to another device's topics or to wildcards over serials", async (t) => {
    const d = await conn(t, b!.serial, { subscribe: false });
    for (const filter of [enrollResponseTopic(c!.serial), 'keyline/v1/devices/+/enroll/res', 'keyline/v1/#', '#', `$share/x/${enrollResponseTopic(b!.serial)}`]) {
      // SUBACK 0x80 (MQTT 3.1.1 §3.9.3): mqtt.js rejects with the packet attached.
      const err = (await d.client.subscribeAsync(filter, { qos: 1 }).then(() => null, (e: unknown) => e)) as { packet?: { granted?: number[] } } | null;
      t.same(err?.packet?.granted, [128], `${filter} refused`);
    }
    const [own] = await d.client.subscribeAsync(`keyline/v1/devices/${b!.serial}/#`, { qos: 1 });
    t.equal(own!.qos, 1, 'own subtree allowed');
  });

  await t.test("publishing on another device's topic, on its own answer topic, or on enroll/mtls without a certificate ends the connection", async (t) => {
    for (const topic of [enrollRequestTopic(c!.serial), enrollResponseTopic(b!.serial), enrollMtlsTopic(b!.serial)]) {
      const d = await conn(t, b!.serial, { subscribe: false });
      const closed = new Promise<void>((r) => d.client.once('close', () => r()));
      d.client.publish(topic, JSON.stringify({ type: 'enroll', serial: b!.serial }), { qos: 1 });
      await closed;
      t.pass(`${topic}: disconnected`);
    }
    t.equal(await bed.store.transaction((tx) => tx.enrollment.get(b!.serial), { readOnly: true }), null, 'nothing enrolled');
  });

  await t.test('client ids that are not serials are refused at CONNECT', async (t) => {
    await t.rejects(MqttDevice.connect(url, b!.serial, { ca, clientId: 'not-a-serial' }));
  });

  await t.test('mTLS: a certificate-verified device enrolls with {type: enroll} on enroll/mtls', async (t) => {
    const sd = await softDevice(bed.issuing, bed.store);
    const d = await conn(t, sd.serial, { cert: sd.cert, key: sd.key });
    const res = await d.request({ type: 'enroll', serial: sd.serial }, { topic: enrollMtlsTopic(sd.serial) });
    t.match(res, { type: 'enrolled', serial: sd.serial, reenrolled: false });
    t.match(await bed.store.transaction((tx) => tx.enrollment.get(sd.serial), { readOnly: true }), { method: 'mtls' });

    await t.test('its client id must be its certificate serial', async (t) => {
      await t.rejects(MqttDevice.connect(url, sd.serial, { ca, cert: sd.cert, key: sd.key, clientId: b!.serial }));
    });
    await t.test('a revoked client certificate is refused at CONNECT', async (t) => {
      const rd = await softDevice(bed.issuing, bed.store);
      await bed.store.transaction((tx) => tx.revocations.add({ certificateSerial: rd.certificateSerial, kind: 'device', subject: rd.serial, reason: 'keyCompromise', revokedAt: new Date().toISOString(), revokedBy: 'test' }));
      await t.rejects(MqttDevice.connect(url, rd.serial, { ca, cert: rd.cert, key: rd.key }));
    });
    await t.test('a certificate-verified but unknown device is UNKNOWN_DEVICE', async (t) => {
      const ud = await softDevice(bed.issuing, bed.store, { record: false });
      const d2 = await conn(t, ud.serial, { cert: ud.cert, key: ud.key });
      t.match(await d2.request({ type: 'enroll', serial: ud.serial }, { topic: enrollMtlsTopic(ud.serial) }), { type: 'error', code: 'UNKNOWN_DEVICE' });
    });
  });
});

t.test('rate limit per device: RATE_LIMITED with retryAfterSeconds', async (t) => {
  const bed = await makeEnrollBed(t, 1);
  const { url } = await startEmbedded(t, bed, { rateLimitPerMinute: 3 });
  const [a] = await Promise.all(bed.chips.map((chip) => chipDevice(chip, bed.store)));
  const d = await MqttDevice.connect(url, a!.serial, { ca: [bed.rootPem, toPem(bed.issuingDer)] });
  t.teardown(() => d.close());
  const hello = { type: 'hello', serial: a!.serial, deviceCertificate: Buffer.from(a!.certDer).toString('base64') };
  for (let i = 0; i < 3; i++) t.match(await d.request(hello), { type: 'challenge' });
  const r = await d.request(hello);
  t.match(r, { type: 'error', code: 'RATE_LIMITED' });
  t.ok(r.type === 'error' && (r.retryAfterSeconds ?? 0) >= 1);
  await sleep(10);
});
