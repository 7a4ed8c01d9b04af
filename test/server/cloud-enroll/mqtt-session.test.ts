/**
 * The cloud endpoints' MQTT session (issue 16), byte by byte over a loopback socket: what a
 * device must send first, CONNACK codes, subscriptions granted or refused per the protocol's
 * policy (QoS 2 served as 1), packets sent before CONNACK handled after it, the embedded broker's
 * per-connection rules (no retain), a publish outside the protocol's requests ending the
 * connection, and answers written only where a subscription matches.
 */
import t, { type Test } from 'tap';
import { createServer, connect, type Socket } from 'node:net';
import mqttPacket, { type Packet } from 'mqtt-packet';
import { ClientLimits } from '../../../server/enroll/client-limits.js';
import { DEFAULT_BROKER_LIMITS } from '../../../server/enroll/broker-limits.js';
import { MqttSession, type SessionPolicy, type TlsPeer } from '../../../server/cloud-enroll/mqtt-endpoint/mqtt-session.js';

const peer: TlsPeer = { authorized: true };
const requests: Array<{ topic: string; payload: string }> = [];
const policy: SessionPolicy<string> = {
  versions: [4, 5],
  connect: async (p) => (p.clientId === 'refuse-me' ? { refuse: 5, reason: 'test' } : { id: p.clientId }),
  maySubscribe: (_id, filter) => filter.startsWith('replies/'),
  accepts: (topic) => topic.startsWith('requests/'),
  onRequest(session, topic, payload) {
    requests.push({ topic, payload: payload.toString() });
    session.publish(`replies/${session.id}`, Buffer.from(`answer to ${payload.toString()}`));
    session.publish('elsewhere', Buffer.from('never sent'));
  },
};

/** A session on the server end of a loopback connection; the client end parses what comes back. */
async function pair(t: Test, version: 4 | 5 = 4) {
  let session!: MqttSession<string>;
  const closed: string[] = [];
  const server = createServer((s: Socket) => {
    session = new MqttSession(s, peer, policy, new ClientLimits(DEFAULT_BROKER_LIMITS), { queueLimit: 10, maxPacketBytes: 65536 }, (r) => closed.push(r));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const client = connect((server.address() as { port: number }).port, '127.0.0.1');
  await new Promise((r) => client.once('connect', r));
  t.teardown(() => {
    client.destroy();
    server.close();
  });
  const received: Packet[] = [];
  const parser = mqttPacket.parser({ protocolVersion: version });
  parser.on('packet', (p: Packet) => received.push(p));
  client.on('data', (d: Buffer) => parser.parse(d));
  const ended = new Promise<void>((r) => client.once('close', () => r()));
  const send = (p: Packet) => client.write(mqttPacket.generate(p, { protocolVersion: version }));
  const settle = () => new Promise((r) => setTimeout(r, 50));
  return { send, received, ended, closed, settle, session: () => session };
}

const connectPacket = (clientId: string, protocolVersion: 3 | 4 | 5 = 4): Packet => ({ cmd: 'connect', protocolId: protocolVersion === 3 ? 'MQIsdp' : 'MQTT', protocolVersion, clientId, clean: true, keepalive: 60 });

t.test('the first packet must be CONNECT', async (t) => {
  const c = await pair(t);
  c.send({ cmd: 'pingreq' });
  await c.ended;
  t.match(c.closed, [/first packet is pingreq/]);
});

t.test('a refused CONNECT gets its return code (3.1.1) or reason code (5), then the connection closes', async (t) => {
  const v4 = await pair(t);
  v4.send(connectPacket('refuse-me'));
  await v4.ended;
  t.match(v4.received, [{ cmd: 'connack', returnCode: 5 }]);
  const v5 = await pair(t, 5);
  v5.send(connectPacket('refuse-me', 5));
  await v5.ended;
  t.match(v5.received, [{ cmd: 'connack', reasonCode: 0x87 }]);
  const v3 = await pair(t);
  v3.send(connectPacket('old', 3));
  await v3.ended;
  t.match(v3.received, [{ cmd: 'connack', returnCode: 1 }], 'MQTT 3.1: unacceptable protocol version');
});

t.test('a session: pipelined packets handled after CONNACK, subscriptions per policy, answers only where subscribed', async (t) => {
  const c = await pair(t);
  // Sent together, before any CONNACK could arrive.
  c.send(connectPacket('dev-1'));
  c.send({ cmd: 'subscribe', messageId: 1, subscriptions: [{ topic: 'replies/dev-1', qos: 2 }, { topic: '#', qos: 1 }] });
  c.send({ cmd: 'publish', topic: 'requests/a', payload: Buffer.from('q1'), qos: 1, messageId: 2, retain: false, dup: false });
  await c.settle();
  t.match(c.received, [
    { cmd: 'connack', returnCode: 0, sessionPresent: false },
    { cmd: 'suback', messageId: 1, granted: [1, 128] },
    { cmd: 'puback', messageId: 2 },
    { cmd: 'publish', topic: 'replies/dev-1', qos: 1 },
  ]);
  t.equal(c.received.length, 4, "nothing on 'elsewhere': no subscription matches it");
  t.equal(String((c.received[3] as { payload: Buffer }).payload), 'answer to q1');
  t.same(requests.at(-1), { topic: 'requests/a', payload: 'q1' });
  t.equal(c.session().publish('replies/other', Buffer.from('x')), false, 'publish() reports a topic the client did not subscribe to');
  c.send({ cmd: 'pingreq' });
  await c.settle();
  t.match(c.received.at(-1), { cmd: 'pingresp' });
});

t.test('a retained publish, a publish outside the requests, or a second CONNECT ends the session', async (t) => {
  for (const [packet, why] of [
    [{ cmd: 'publish', topic: 'requests/a', payload: Buffer.from('x'), qos: 0, retain: true, dup: false }, /retain/i],
    [{ cmd: 'publish', topic: 'devices/other', payload: Buffer.from('x'), qos: 0, retain: false, dup: false }, /not a request of this endpoint/],
    [connectPacket('dev-2'), /second CONNECT/],
  ] as Array<[Packet, RegExp]>) {
    const c = await pair(t);
    c.send(connectPacket('dev-2'));
    await c.settle();
    c.send(packet);
    await c.ended;
    t.match(c.closed, [why], why.source);
  }
});

t.test('MQTT 5: CONNACK states what the endpoint serves', async (t) => {
  const c = await pair(t, 5);
  c.send(connectPacket('dev-5', 5));
  await c.settle();
  t.match(c.received, [{ cmd: 'connack', reasonCode: 0, properties: { maximumQoS: 1, retainAvailable: false, sharedSubscriptionAvailable: false, topicAliasMaximum: 0, maximumPacketSize: 65536 } }]);
});
