/**
 * Issue 11, holes 3 and 4, reproduced against the embedded broker over real TLS with real mqtt.js
 * clients: (3) the broker retained anything from anyone (huge, retained, QoS 2, flooding
 * publishes); (4) an anonymous connection took over a certificate device's session by client id.
 */
import t from 'tap';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { createConnection } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { toPem } from '../../../common/pem.js';
import { enrollMtlsTopic, enrollRequestTopic, enrollResponseTopic, TOPIC_ROOT } from '../../../common/protocol/enrollment.js';
import { chipDevice, MqttDevice } from './device-client.js';
import { makeEnrollBed, startEmbedded } from './fixture.js';
import { softDevice } from './mtls-identity.js';
import { connectPacket, publishHead, rawTls, remainingLength, within } from './raw-mqtt.js';

const bed = await makeEnrollBed(t, 6);
const ca = [bed.rootPem, toPem(bed.issuingDer)];
const chips = await Promise.all(bed.chips.map((chip) => chipDevice(chip, bed.store)));
const chip = (i: number) => chips[i]!;

/** Connects with mqtt.js; resolves with the client, or with the CONNACK refusal code. */
async function attempt(url: string, clientId: string, o: Partial<IClientOptions> = {}): Promise<{ client?: MqttClient; code: number }> {
  try {
    const client = await mqtt.connectAsync(url, { clientId, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ca, rejectUnauthorized: true, ...o } as IClientOptions);
    client.on('error', () => undefined);
    t.teardown(() => client.endAsync(true));
    return { client, code: 0 };
  } catch (err) {
    return { code: typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : -1 };
  }
}

const closeOf = (c: MqttClient) => new Promise<void>((r) => (c.connected ? c.once('close', () => r()) : r()));

/** Messages a fresh session of `serial` receives on its own subtree within `ms` (retained ones arrive at SUBSCRIBE). */
async function laterSessionSees(url: string, serial: string, ms = 400): Promise<string[]> {
  const { client } = await attempt(url, serial);
  if (!client) throw new Error(`later session of ${serial} refused`);
  const got: string[] = [];
  client.on('message', (topic, payload, packet) => got.push(`${topic}${packet.retain ? ' (retained)' : ''} ${payload.length} B`));
  await client.subscribeAsync(`${TOPIC_ROOT}/${serial}/#`, { qos: 1 });
  await sleep(ms);
  await client.endAsync(true);
  return got;
}

t.test('issue 11 hole 3: the embedded broker refuses what it must not hold', async (t) => {
  const { url } = await startEmbedded(t, bed);

  await t.test('a PUBLISH declaring 100 MB closes the connection on its header, before any body is sent', async (t) => {
    const raw = await rawTls(url, ca);
    raw.socket.write(connectPacket(chip(0).serial));
    raw.socket.write(publishHead(enrollRequestTopic(chip(0).serial), 100 * 1024 * 1024, 0x01));
    t.ok(await within(raw.closed, 2000), 'connection closed with no body sent');
    raw.socket.destroy();
  });

  await t.test('a Remaining Length of five bytes (malformed, MQTT 3.1.1 §2.2.3) closes the connection', async (t) => {
    const raw = await rawTls(url, ca);
    raw.socket.write(connectPacket(chip(0).serial));
    raw.socket.write(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]));
    t.ok(await within(raw.closed, 2000), 'connection closed');
    raw.socket.destroy();
  });

  await t.test('a 1 MB retained publish: connection closed, nothing retained or delivered to a later session', async (t) => {
    const { client } = await attempt(url, chip(1).serial);
    t.ok(client, 'connected as a known unit');
    const closed = closeOf(client!);
    client!.publish(enrollRequestTopic(chip(1).serial), Buffer.alloc(1024 * 1024, 0x61), { qos: 1, retain: true });
    t.ok(await within(closed, 5000), 'disconnected');
    t.same(await laterSessionSees(url, chip(1).serial), [], 'nothing retained');
  });

  await t.test('a small retained publish from a device is refused and not delivered to a later session', async (t) => {
    const { client } = await attempt(url, chip(1).serial);
    const closed = closeOf(client!);
    client!.publish(enrollRequestTopic(chip(1).serial), JSON.stringify({ type: 'hello', serial: chip(1).serial }), { qos: 1, retain: true });
    t.ok(await within(closed, 3000), 'disconnected');
    t.same(await laterSessionSees(url, chip(1).serial), [], 'nothing retained');
  });

  await t.test('a publish on a device topic that is not a request topic is refused', async (t) => {
    const { client } = await attempt(url, chip(1).serial);
    const closed = closeOf(client!);
    client!.publish(`${TOPIC_ROOT}/${chip(1).serial}/blob`, 'x', { qos: 0 });
    t.ok(await within(closed, 3000), 'disconnected');
  });

  await t.test('QoS 2 is refused: the connection closes and the service never sees the request', async (t) => {
    const d = await MqttDevice.connect(url, chip(2).serial, { ca });
    t.teardown(() => d.close());
    const closed = closeOf(d.client);
    const hello = { type: 'hello', serial: chip(2).serial, deviceCertificate: Buffer.from(chip(2).certDer).toString('base64'), correlationId: 'q2' };
    d.client.publish(enrollRequestTopic(chip(2).serial), JSON.stringify(hello), { qos: 2 });
    t.ok(await within(closed, 3000), 'disconnected');
    t.same(d.answers, [], 'no answer: the request was never delivered');
  });

  await t.test('a flood of publishes is disconnected', async (t) => {
    const { client } = await attempt(url, chip(3).serial);
    const closed = closeOf(client!);
    const body = JSON.stringify({ type: 'hello', serial: chip(3).serial });
    for (let i = 0; i < 2000 && client!.connected; i++) {
      client!.publish(enrollRequestTopic(chip(3).serial), body, { qos: 0 });
      if (i % 100 === 99) await sleep(1);
    }
    t.ok(await within(closed, 5000), 'disconnected');
  });

  await t.test('subscriptions per client are capped (SUBACK 0x80 past the cap)', async (t) => {
    const { client } = await attempt(url, chip(3).serial);
    const granted: number[] = [];
    for (let i = 0; i < 40; i++) {
      const r = await client!.subscribeAsync(`${TOPIC_ROOT}/${chip(3).serial}/x${i}`, { qos: 1 }).then((g) => g[0]!.qos, (e: { packet?: { granted?: number[] } }) => e.packet?.granted?.[0] ?? -1);
      granted.push(r);
    }
    t.ok(granted.slice(0, 4).every((g) => g === 1), 'the first few are granted');
    t.equal(granted.at(-1), 128, 'the 40th is refused');
  });

  await t.test('a persistent session (CleanSession 0) is not kept: nothing queues for a device while it is away', async (t) => {
    const first = await attempt(url, chip(4).serial, { clean: false });
    await first.client!.subscribeAsync(enrollResponseTopic(chip(4).serial), { qos: 1 });
    await first.client!.endAsync();
    const again = mqtt.connect(url, { clientId: chip(4).serial, clean: false, protocolVersion: 4, reconnectPeriod: 0, ca } as IClientOptions);
    t.teardown(() => again.endAsync(true));
    const sessionPresent = await new Promise<boolean>((r) => again.once('connect', (p) => r(p.sessionPresent)));
    t.equal(sessionPresent, false, 'CONNACK session present = 0');
  });
});

t.test('issue 11 hole 3: listener limits (connect timeout, TLS handshake timeout, connection cap)', async (t) => {
  const { url } = await startEmbedded(t, bed, { limits: { connectTimeoutSeconds: 1, maxConnections: 3 } });
  const u = new URL(url);

  await t.test('a TLS connection that never sends CONNECT is closed after the connect timeout', async (t) => {
    const raw = await rawTls(url, ca);
    t.ok(await within(raw.closed, 3000), 'closed');
  });

  await t.test('a TCP connection that never starts TLS is closed after the handshake timeout', async (t) => {
    const sock = createConnection(Number(u.port), u.hostname);
    sock.on('error', () => undefined);
    t.ok(await within(new Promise((r) => sock.once('close', r)), 3000), 'closed');
  });

  await t.test('connections past the cap are dropped at accept', async (t) => {
    const held = await Promise.all([0, 1, 2].map(() => rawTls(url, ca)));
    t.teardown(() => held.forEach((h) => h.socket.destroy()));
    const fourth = await rawTls(url, ca).then((r) => (r.socket.destroy(), 'connected'), () => 'dropped');
    t.equal(fourth, 'dropped', 'the fourth never completes its handshake');
  });
});

t.test('issue 11 hole 4: a client id is never taken over without its certificate', async (t) => {
  const first = await startEmbedded(t, bed, { rateLimitPerMinute: 4 });
  const url = first.url;

  await t.test('an anonymous connection cannot take a certificate-connected device\'s id; the device stays and enrolls', async (t) => {
    const sd = await softDevice(bed.issuing, bed.store);
    const d = await MqttDevice.connect(url, sd.serial, { ca, cert: sd.cert, key: sd.key });
    t.teardown(() => d.close());
    const anon = await attempt(url, sd.serial);
    t.equal(anon.code, 5, 'CONNACK 0x05 not authorised');
    await sleep(100);
    // (Before the fix the device was disconnected here, and a request on its dead client never settles.)
    if (!t.ok(d.client.connected, 'the device is still connected')) return;
    t.match(await d.request({ type: 'enroll', serial: sd.serial }, { topic: enrollMtlsTopic(sd.serial) }), { type: 'enrolled', serial: sd.serial });
    await d.close();

    await t.test('still refused once the device has gone offline (the id is bound to its certificate)', async (t) => {
      t.equal((await attempt(url, sd.serial)).code, 5);
    });

    await t.test('still refused after a broker restart (the binding is in the database)', async (t) => {
      await first.broker.close();
      const second = await startEmbedded(t, bed);
      t.equal((await attempt(second.url, sd.serial)).code, 5);
      const again = await MqttDevice.connect(second.url, sd.serial, { ca, cert: sd.cert, key: sd.key });
      t.teardown(() => again.close());
      t.match(await again.request({ type: 'enroll', serial: sd.serial }, { topic: enrollMtlsTopic(sd.serial) }), { type: 'enrolled', reenrolled: true }, 'the device itself still gets in');
    });
  });
});

t.test('issue 11 hole 4: admission of devices without a certificate', async (t) => {
  const { url } = await startEmbedded(t, bed, { rateLimitPerMinute: 4 });

  await t.test('an unknown serial is refused (CONNACK 0x05)', async (t) => {
    t.equal((await attempt(url, '0123FFFFFFFFFFFF01')).code, 5);
  });

  await t.test('a unit enrolled over mTLS is bound even without a broker binding row', async (t) => {
    const sd = await softDevice(bed.issuing, bed.store);
    await bed.store.transaction((tx) => tx.enrollment.insert({ serial: sd.serial, counter: null, group: 'default', method: 'mtls', at: new Date().toISOString() }));
    t.equal((await attempt(url, sd.serial)).code, 5);
  });

  await t.test('a second anonymous connection with a connected id is refused (0x02); the first stays', async (t) => {
    const d = await MqttDevice.connect(url, chip(5).serial, { ca });
    t.teardown(() => d.close());
    t.equal((await attempt(url, chip(5).serial)).code, 2, 'CONNACK 0x02 identifier rejected');
    await sleep(100);
    if (!t.ok(d.client.connected, 'the first connection is untouched')) return;
    t.match(await d.request({ type: 'hello', serial: chip(5).serial, deviceCertificate: Buffer.from(chip(5).certDer).toString('base64') }), { type: 'challenge' });
  });

  await t.test('a certificate device displaces an anonymous squatter on its id, and its budget is its own', async (t) => {
    const sd = await softDevice(bed.issuing, bed.store);
    const squatter = await MqttDevice.connect(url, sd.serial, { ca });
    t.teardown(() => squatter.close());
    // The squatter spends the signed-challenge budget of the serial (4 a minute here).
    const junk = { type: 'hello', serial: sd.serial, deviceCertificate: Buffer.from(sd.certDer).toString('base64') };
    let limited = false;
    for (let i = 0; i < 6 && !limited; i++) limited = (await squatter.request(junk)).type === 'error';
    t.ok(limited, 'the squatter hit the rate limit');
    const gone = closeOf(squatter.client);
    const d = await MqttDevice.connect(url, sd.serial, { ca, cert: sd.cert, key: sd.key });
    t.teardown(() => d.close());
    t.ok(await within(gone, 2000), 'the squatter was disconnected');
    t.match(await d.request({ type: 'enroll', serial: sd.serial }, { topic: enrollMtlsTopic(sd.serial) }), { type: 'enrolled', serial: sd.serial }, 'the device enrolls at once');
    t.equal((await attempt(url, sd.serial)).code, 5, 'and the squatter cannot come back');
  });
});

t.test('issue 11: the raw header helper encodes MQTT lengths', async (t) => {
  t.same([...remainingLength(127)], [0x7f]);
  t.same([...remainingLength(128)], [0x80, 0x01]);
  t.same([...remainingLength(268_435_455)], [0xff, 0xff, 0xff, 0x7f]);
});
