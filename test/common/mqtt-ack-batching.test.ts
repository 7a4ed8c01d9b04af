import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { Aedes } from 'aedes';
import mqtt from 'mqtt';
import t, { type Test } from 'tap';
import { batchAcksPerTurn } from '../../common/mqtt-ack-batching.js';

/** A QoS 1 delivery answered with a publish in the same turn (after the delivery's microtasks): the device socket's writes, and the acks the broker saw. */
async function deliverAndAnswer(t: Test, batched: boolean): Promise<{ writes: Buffer[][]; acked: number }> {
  const broker = await Aedes.createBroker();
  const server = createServer(broker.handle).listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `mqtt://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const device = await mqtt.connectAsync(url, { clientId: 'device', reconnectPeriod: 0 });
  const other = await mqtt.connectAsync(url, { clientId: 'other', reconnectPeriod: 0 });
  t.teardown(async () => {
    await Promise.all([device.endAsync(true), other.endAsync(true)]);
    await new Promise<void>((r) => broker.close(() => r()));
    server.close();
  });
  if (batched) batchAcksPerTurn(device);
  await device.subscribeAsync('q/req', { qos: 1 });
  await other.subscribeAsync('q/res', { qos: 1 });
  let acked = 0;
  broker.on('ack', (_p, client) => void (client?.id === 'device' && acked++));
  // Every write the device's socket makes from here on, as the chunks of each.
  const writes: Buffer[][] = [];
  type Done = (err?: Error | null) => void;
  const sock = device.stream as unknown as Socket & {
    _write: (chunk: Buffer | string, enc: BufferEncoding, cb: Done) => void;
    _writev: (chunks: Array<{ chunk: Buffer | string }>, cb: Done) => void;
  };
  const w = sock._write.bind(sock);
  const wv = sock._writev.bind(sock);
  const bytes = (c: Buffer | string) => (typeof c === 'string' ? Buffer.from(c) : c);
  sock._write = (chunk, enc, cb) => (writes.push([bytes(chunk)]), w(chunk, enc, cb));
  sock._writev = (chunks, cb) => (writes.push(chunks.map((c) => bytes(c.chunk))), wv(chunks, cb));
  device.on('message', () => void Promise.resolve().then(() => device.publish('q/res', 'answer', { qos: 1 })));
  const answered = new Promise<void>((resolve) => other.once('message', () => resolve()));
  other.publish('q/req', 'request', { qos: 1 });
  await answered; // the answer was delivered
  await new Promise((r) => setTimeout(r, 50));
  return { writes, acked };
}

/** A write as the test reports it (first byte: 0x40 PUBACK, 0x32 PUBLISH QoS 1). */
const kinds = (chunks: Buffer[]) => `${Buffer.concat(chunks).length} bytes from 0x${Buffer.concat(chunks).subarray(0, 1).toString('hex')}`;

t.test('issue 13: a delivery\'s PUBACK and the publish made in the same turn leave in one write, and the broker sees the ack', async (t) => {
  const r = await deliverAndAnswer(t, true);
  t.equal(r.writes.length, 1, `one write for PUBACK + PUBLISH, got ${r.writes.map(kinds).join(', ')}`);
  const bytes = Buffer.concat(r.writes[0] ?? []);
  t.equal(bytes[0], 0x40, 'the PUBACK first');
  t.ok(bytes.includes(0x32), 'the QoS 1 PUBLISH with it');
  t.equal(r.acked, 1, 'the broker received the PUBACK');
});

t.test('without it mqtt.js writes the two on their own (what the test above would catch)', async (t) => {
  const r = await deliverAndAnswer(t, false);
  t.equal(r.writes.length, 2, r.writes.map(kinds).join(', '));
  t.equal(r.acked, 1);
});
