/**
 * The Broker conformance suite (as aedes-persistence's abstract.js or MQTT.js' abstract_store):
 * every Broker implementation, on every broker it reaches, must pass it. `connect` returns a
 * fresh service-rights connection.
 */
import type { Test } from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Broker, MessageProperties } from '../../../server/enroll/broker.js';

/** Runs the suite; `v5` says whether the connections speak MQTT 5 (properties carried). */
export async function brokerSuite(t: Test, connect: () => Promise<Broker>, o: { v5: boolean }): Promise<void> {
  const open = async () => {
    const b = await connect();
    t.teardown(() => b.close().catch(() => undefined));
    return b;
  };
  const received = (b: Broker, filter: string) => {
    const got: Array<{ topic: string; payload: string; props: MessageProperties }> = [];
    return b.subscribe(filter, (topic, payload, props) => got.push({ topic, payload: Buffer.from(payload).toString(), props })).then(() => got);
  };
  const until = async (cond: () => boolean, ms = 3000) => {
    const end = Date.now() + ms;
    while (!cond() && Date.now() < end) await sleep(10);
  };

  await t.test('a publish reaches a wildcard subscriber of another connection, bytes intact', async (t) => {
    const [a, b] = [await open(), await open()];
    const got = await received(a, 'keyline/v1/devices/+/enroll/req');
    await b.publish('keyline/v1/devices/0123456789ABCDEF01/enroll/req', new TextEncoder().encode('{"x":"é"}'));
    await until(() => got.length > 0);
    t.same(got.map((g) => [g.topic, g.payload]), [['keyline/v1/devices/0123456789ABCDEF01/enroll/req', '{"x":"é"}']]);
  });

  await t.test('each message goes only to the handlers whose filter matches', async (t) => {
    const [a, b] = [await open(), await open()];
    const req = await received(a, 'keyline/v1/devices/+/enroll/req');
    const mtls = await received(a, 'keyline/v1/devices/+/enroll/mtls');
    await b.publish('keyline/v1/devices/0123456789ABCDEF02/enroll/mtls', new Uint8Array([0x7b, 0x7d]));
    await b.publish('keyline/v1/devices/0123456789ABCDEF02/enroll/other', new Uint8Array([0x7b, 0x7d]));
    await until(() => mtls.length > 0);
    await sleep(100);
    t.equal(mtls.length, 1);
    t.equal(req.length, 0);
  });

  await t.test(o.v5 ? 'MQTT 5: correlation data travels with the message' : 'MQTT 3.1.1: no properties are invented', async (t) => {
    const [a, b] = [await open(), await open()];
    // An exact topic: on a broker shared with a running service, its answers to the other tests pass by.
    const got = await received(a, 'keyline/v1/devices/0123456789ABCDEF03/enroll/res');
    await b.publish('keyline/v1/devices/0123456789ABCDEF03/enroll/res', new Uint8Array([1]), 1, { correlationData: new Uint8Array([9, 8, 7]) });
    await until(() => got.length > 0);
    if (o.v5) t.same(Buffer.from(got[0]!.props.correlationData ?? []), Buffer.from([9, 8, 7]));
    else t.same(got[0]!.props, {});
  });

  await t.test('close ends the connection; a later publish fails', async (t) => {
    const a = await open();
    await a.close();
    await t.rejects(a.publish('keyline/v1/devices/0123456789ABCDEF04/enroll/res', new Uint8Array([1])));
  });
}
