/**
 * PUBACKs that leave with the other packets of the same turn of the event loop. mqtt.js writes
 * each packet on its own (corked only until the next tick), so a QoS 1 delivery's PUBACK and the
 * publish it leads to, or the PUBACKs of many deliveries read at once, each cost a TLS record, a
 * write and a wake-up of the broker. Holding the socket corked from the first delivery of a turn
 * until that turn's immediates joins them into one write; nothing waits longer than the turn, and
 * the bytes on the wire are the same (bench:enroll, issue 13: TLS writes were a fifth of the
 * simulated devices' time).
 */
import type { MqttClient } from 'mqtt';
import type { Writable } from 'node:stream';

/** Sets `client.handleMessage` (mqtt.js's hook before a delivery's acknowledgement) to hold the socket corked for the rest of the turn. */
export function batchAcksPerTurn(client: MqttClient): void {
  let held: Partial<Writable> | undefined;
  client.handleMessage = (_packet, callback) => {
    const stream = client.stream as Partial<Writable> | undefined;
    if (!held && stream?.cork && stream.uncork) {
      held = stream;
      stream.cork();
      setImmediate(() => {
        held = undefined;
        stream.uncork!();
      });
    }
    callback();
  };
}
