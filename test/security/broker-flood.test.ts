/**
 * Issue 11, hole 3, from outside: the real `keyline server` in a child process, its embedded
 * broker flooded over TLS by a client without a certificate: 200 publishes of 1 MB and one
 * retained publish of 50 MB under the client id of a provisioned unit (the worst case: serials
 * are printed on labels), reconnecting whenever the broker cuts it off, plus 20 connections with
 * arbitrary client ids that send CONNECT and a 1 MB PUBLISH in one flight, before any CONNACK.
 * The server's resident memory (VmRSS from /proc) after the flood must stay within 50 MB of what
 * it was after a warm-up; both numbers are printed. Nothing may be retained.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { TOPIC_ROOT, enrollRequestTopic } from '../../common/protocol/enrollment.js';
import { loadConfigWithoutSecrets } from '../../server/config.js';
import { openStore } from '../../server/store/open-store.js';
import { makeDevPki } from '../helpers/pki.js';
import { buildUnit, buildWorkOrder } from '../server/store/build.js';
import { connectPacket, publishPacket, rawTls, within } from '../server/enroll/raw-mqtt.js';
import { rssMb, spawnKeyline } from './keyline-child.js';

const PUBLISHES = 200;
const MB = 1024 * 1024;
const LIMIT_MB = 50;

const pki = await makeDevPki(t);
const config = loadConfigWithoutSecrets(pki.configPath);
const unit = buildUnit({ status: 'confirmed', confirmedAt: '2026-01-01T00:00:00.000Z' });
const store = await openStore(config.store.url);
await store.transaction(async (tx) => {
  await tx.workOrders.create(buildWorkOrder({ id: 'WO-1' }));
  await tx.units.insert(unit);
});
await store.close();

const { child, mqttUrl } = await spawnKeyline(t, pki.configPath);

const ca = [readFileSync(pki.rootCertPath, 'utf8'), readFileSync(pki.issuingCertPath, 'utf8')];
const options: IClientOptions = { clientId: unit.serial, protocolVersion: 4, reconnectPeriod: 0, connectTimeout: 5000, ca, rejectUnauthorized: true };
let client: MqttClient | undefined;
let cutOff = 0;

/** Publishes over the current connection, reconnecting first when the broker closed it; true when the broker cut it. */
async function publish(topic: string, payload: Buffer, retain = false): Promise<boolean> {
  if (!client?.connected) {
    client = await mqtt.connectAsync(mqttUrl, options);
    client.on('error', () => undefined);
  }
  const c = client;
  const closed = new Promise<'closed'>((r) => c.once('close', () => r('closed')));
  // QoS 1: a PUBACK says the broker took the message; a close says it refused it.
  const outcome = await Promise.race([c.publishAsync(topic, payload, { qos: 1, retain }).then(() => 'acked' as const, () => 'closed' as const), closed]);
  if (outcome === 'closed') cutOff++;
  return outcome === 'closed';
}

// Warm-up: connections, small requests answered by the service, one cut-off, a GC-settled heap.
for (let i = 0; i < 20; i++) await publish(enrollRequestTopic(unit.serial), Buffer.from('{"type":"hello"}'));
await publish(`${TOPIC_ROOT}/${unit.serial}/blob`, randomBytes(64 * 1024));
await new Promise((r) => setTimeout(r, 1000));
const before = rssMb(child.pid!);
const started = Date.now();

t.test(`issue 11 hole 3: ${PUBLISHES} x 1 MB + one 50 MB retained publish leave the server within ${LIMIT_MB} MB`, async (t) => {
  cutOff = 0;
  const big = randomBytes(MB);
  for (let i = 0; i < PUBLISHES; i++) await publish(`${TOPIC_ROOT}/${unit.serial}/blob`, big);
  await publish(`${TOPIC_ROOT}/${unit.serial}/blob`, randomBytes(50 * MB), true);
  t.equal(cutOff, PUBLISHES + 1, 'every oversized publish cut its connection');

  // Arbitrary client ids, CONNECT and PUBLISH in one flight (nothing waits for the CONNACK).
  let rawClosed = 0;
  for (let i = 0; i < 20; i++) {
    const raw = await rawTls(mqttUrl, ca);
    const id = `01${randomBytes(8).toString('hex').toUpperCase()}`;
    raw.socket.write(Buffer.concat([connectPacket(id), publishPacket(`${TOPIC_ROOT}/${id}/blob`, big)]));
    if (await within(raw.closed, 5000)) rawClosed++;
    raw.socket.destroy();
  }
  t.equal(rawClosed, 20, 'every one-flight attempt was closed');

  await new Promise((r) => setTimeout(r, 1000));
  const after = rssMb(child.pid!);
  const line = `broker flood: server RSS ${before.toFixed(1)} MB before, ${after.toFixed(1)} MB after (+${(after - before).toFixed(1)} MB) in ${((Date.now() - started) / 1000).toFixed(1)} s`;
  t.comment(line);
  process.stderr.write(`${line}\n`);
  t.ok(after - before < LIMIT_MB, `RSS grew ${(after - before).toFixed(1)} MB (< ${LIMIT_MB})`);

  // A later session of the same id subscribes to its whole subtree: nothing retained arrives.
  await client?.endAsync(true);
  const later = await mqtt.connectAsync(mqttUrl, options);
  const got: string[] = [];
  later.on('message', (topic, payload) => got.push(`${topic} ${payload.length} B`));
  await later.subscribeAsync(`${TOPIC_ROOT}/${unit.serial}/#`, { qos: 1 });
  await new Promise((r) => setTimeout(r, 500));
  await later.endAsync(true);
  t.same(got, [], 'nothing retained');
  t.equal(child.exitCode, null, 'the server is still running');
});
