/**
 * The Broker over the `mqtt` client: used for an external broker (Mosquitto, with TLS client
 * authentication as the service identity) and for the embedded aedes broker (over an in-process
 * stream, see aedes-broker.ts), so the service code is the same on both paths.
 */
import { randomBytes } from 'node:crypto';
import mqtt, { type IClientOptions, type IPublishPacket, type IStream, type MqttClient } from 'mqtt';
import type { Socket } from 'node:net';
import type { Duplex } from 'node:stream';
import { KeylineError } from '../../common/errors.js';
import { batchAcksPerTurn } from '../../common/mqtt-ack-batching.js';
import type { Broker, MessageHandler, MessageProperties } from './broker.js';
import { topicMatches } from './topic-match.js';

/** How to reach the broker. */
export type MqttBrokerOptions = {
  /** MQTT 3.1.1 (4) or 5. */
  protocolVersion?: 4 | 5;
  clientId?: string;
  /** Connection timeout (ms). */
  connectTimeoutMs?: number;
} & (
  | { url: string; tls?: { cert?: string | Buffer; key?: string | Buffer; ca?: Array<string | Buffer> } }
  | { stream: () => Duplex }
);

/** A Broker on one `mqtt` client connection. */
export class MqttBroker implements Broker {
  readonly #client: MqttClient;
  readonly #subs: Array<{ filter: string; onMessage: MessageHandler }> = [];
  #closed = false;

  private constructor(client: MqttClient) {
    this.#client = client;
    // The PUBACKs of the requests read in one turn leave in one write (with any answer of that turn).
    batchAcksPerTurn(client);
    client.on('message', (topic, payload, packet: IPublishPacket) => {
      const p = packet.properties;
      const props: MessageProperties = {};
      if (p?.responseTopic) props.responseTopic = p.responseTopic;
      if (p?.correlationData) props.correlationData = new Uint8Array(p.correlationData);
      // The payload is the parser's own buffer (a Buffer is a Uint8Array): handed on, not copied.
      for (const s of this.#subs) if (topicMatches(s.filter, topic)) s.onMessage(topic, payload, props);
    });
  }

  /** Connects and resolves once the broker accepted the CONNECT (SERVER_UNREACHABLE otherwise). */
  static async connect(opts: MqttBrokerOptions): Promise<MqttBroker> {
    const base: IClientOptions = {
      protocolVersion: opts.protocolVersion ?? 5,
      clientId: opts.clientId ?? `keyline-enroll-${randomBytes(4).toString('hex')}`,
      clean: true,
      connectTimeout: opts.connectTimeoutMs ?? 10_000,
      reconnectPeriod: 1000,
    };
    const client = 'stream' in opts
      ? new mqtt.MqttClient(() => opts.stream() as unknown as IStream, { ...base, reconnectPeriod: 0 })
      : mqtt.connect(opts.url, { ...base, ...(opts.tls ? { cert: opts.tls.cert, key: opts.tls.key, ca: opts.tls.ca, rejectUnauthorized: true } : {}) } as IClientOptions);
    // Replies are small and latency-bound: no Nagle delay. mqtt.js leaves TCP_NODELAY off on
    // tcp and tls (Node's default), so every answer queued behind an unacknowledged segment
    // waited for the broker's delayed ACK; set it on each (re)connected socket.
    client.on('connect', () => (client.stream as Partial<Socket>).setNoDelay?.(true));
    await new Promise<void>((resolve, reject) => {
      const fail = (err: Error) => {
        client.end(true);
        reject(new KeylineError('SERVER_UNREACHABLE', `mqtt broker ${'url' in opts ? opts.url : '(in-process)'}: ${err.message}`, { cause: err }));
      };
      client.once('connect', () => {
        client.off('error', fail);
        resolve();
      });
      client.once('error', fail);
    });
    return new MqttBroker(client);
  }

  async subscribe(filter: string, onMessage: MessageHandler): Promise<void> {
    this.#subs.push({ filter, onMessage });
    const grants = await this.#client.subscribeAsync(filter, { qos: 1 });
    // MQTT 3.1.1 §3.9.3 0x80 / MQTT 5 reason codes ≥ 0x80: the broker refused the subscription.
    if (grants.some((g) => g.qos >= 0x80)) throw new KeylineError('FORBIDDEN', `mqtt: subscription to '${filter}' refused by the broker`);
  }

  async publish(topic: string, payload: Uint8Array, qos: 0 | 1 = 1, props: MessageProperties = {}): Promise<void> {
    // mqtt.js queues a publish on an ended client and never settles it: refuse up front.
    if (this.#closed) throw new KeylineError('SERVER_UNREACHABLE', `mqtt: publish to '${topic}' after close`);
    const properties = this.#client.options.protocolVersion === 5 && props.correlationData
      ? { correlationData: Buffer.from(props.correlationData) }
      : undefined;
    await this.#client.publishAsync(topic, Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength), { qos, ...(properties ? { properties } : {}) });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#client.endAsync();
  }
}
