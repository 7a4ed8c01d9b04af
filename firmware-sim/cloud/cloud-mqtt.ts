/**
 * The MQTT link both cloud clients share: one MQTT 3.1.1 connection over mutual TLS (the
 * endpoint verified against the pinned root, the device presenting its certificate chain),
 * CONNACK refusals turned into typed errors, and "the next message on one of these topics"
 * with a time limit, which is how both APIs answer (neither has a correlation token that
 * outlives its topic: AWS none at all, DPS the `$rid` in the topic).
 */
import { isIP, type Socket } from 'node:net';
import mqtt, { type MqttClient } from 'mqtt';
import { KeylineError } from '../../common/errors.js';
import type { TlsIdentity } from './chip-key.js';
import { connackRefusal, type EnrollProtocol } from './cloud-errors.js';

/** How to reach an endpoint. */
export interface CloudLinkOptions {
  /** `mqtts://host:port`. */
  url: string;
  /** The pinned root (PEM) the endpoint's certificate must chain to. */
  rootCaPem: string;
  tls: TlsIdentity;
  clientId: string;
  username?: string;
  /** Connect and per-answer time limit, ms (default 10 s; DPS answers within 30 s). */
  timeoutMs?: number;
}

/** One connection to a cloud endpoint. */
export class CloudLink {
  readonly #waiters = new Set<{ topics: (t: string) => boolean; resolve: (m: { topic: string; payload: Buffer }) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();

  private constructor(
    readonly client: MqttClient,
    private readonly protocol: Exclude<EnrollProtocol, 'keyline'>,
    readonly timeoutMs: number,
  ) {
    client.on('message', (topic, payload) => {
      for (const w of this.#waiters) {
        if (!w.topics(topic)) continue;
        this.#waiters.delete(w);
        clearTimeout(w.timer);
        w.resolve({ topic, payload });
        return;
      }
    });
    client.on('close', () => this.#failAll(new KeylineError('BROKER_UNREACHABLE', `${protocol} connection closed while waiting for an answer`)));
  }

  /** Connects and waits for CONNACK; refusals throw CloudRefusedError (or BROKER_UNREACHABLE for a busy server). */
  static connect(protocol: Exclude<EnrollProtocol, 'keyline'>, o: CloudLinkOptions): Promise<CloudLink> {
    const timeoutMs = o.timeoutMs ?? 10_000;
    const url = new URL(o.url);
    if (url.protocol !== 'mqtts:') throw new KeylineError('CONFIG_INVALID', `${protocol} endpoint must be mqtts:// (mutual TLS is the device's credential), got '${o.url}'`);
    const client = mqtt.connect(o.url, {
      clientId: o.clientId, ...(o.username !== undefined ? { username: o.username } : {}), protocolVersion: 4, clean: true, reconnectPeriod: 0, connectTimeout: timeoutMs, keepalive: 60,
      ca: o.rootCaPem, cert: o.tls.certPem, key: o.tls.key.export({ format: 'pem', type: 'pkcs8' }), rejectUnauthorized: true, ...(isIP(url.hostname) ? {} : { servername: url.hostname }),
    });
    return new Promise((resolve, reject) => {
      const fail = (err: Error & { code?: unknown }) => {
        client.removeAllListeners();
        client.on('error', () => undefined);
        client.end(true);
        if (typeof err.code === 'number') return reject(connackRefusal(protocol, err.code, o.url));
        const code = /timeout/i.test(err.message) ? 'ENROLLMENT_TIMEOUT' : 'BROKER_UNREACHABLE';
        reject(new KeylineError(code, `cannot connect to ${protocol} endpoint ${o.url} as ${o.clientId}: ${err.message}`, { cause: err }));
      };
      const onClose = () => fail(new Error('connection closed before CONNACK'));
      client.once('error', fail);
      client.once('close', onClose);
      client.once('connect', () => {
        client.removeListener('error', fail);
        client.removeListener('close', onClose);
        (client.stream as Partial<Socket>).setNoDelay?.(true);
        client.on('error', () => undefined); // later errors surface as closes or time-outs
        resolve(new CloudLink(client, protocol, timeoutMs));
      });
    });
  }

  /** Subscribes at QoS 1; a refused filter (SUBACK 0x80) is FORBIDDEN. */
  async subscribe(filters: string[]): Promise<void> {
    const granted = await this.client.subscribeAsync(filters, { qos: 1 });
    const refused = granted.filter((g) => g.qos === 128).map((g) => g.topic);
    if (refused.length) throw new KeylineError('FORBIDDEN', `${this.protocol} endpoint refused subscription to ${refused.join(', ')}`);
  }

  /**
   * Arms a wait for the next message whose topic `topics` accepts, then publishes (QoS 1): the
   * wait exists before the request leaves, so an answer faster than the PUBACK is not missed.
   */
  request(topic: string, body: Buffer | string, topics: (t: string) => boolean, what: string, timeoutMs = this.timeoutMs): Promise<{ topic: string; payload: Buffer }> {
    return new Promise((resolve, reject) => {
      const w = {
        topics, resolve, reject,
        timer: setTimeout(() => {
          this.#waiters.delete(w);
          reject(new KeylineError('ENROLLMENT_TIMEOUT', `no ${this.protocol} answer to ${what} within ${timeoutMs} ms`));
        }, timeoutMs),
      };
      this.#waiters.add(w);
      this.client.publish(topic, body, { qos: 1 }, (err) => {
        if (!err) return;
        this.#waiters.delete(w);
        clearTimeout(w.timer);
        reject(new KeylineError('BROKER_UNREACHABLE', `publish ${what} failed: ${err.message}`, { cause: err }));
      });
    });
  }

  /** Disconnects; waits still pending fail. A connection already gone is closed at once. */
  async close(): Promise<void> {
    this.#failAll(new KeylineError('BROKER_UNREACHABLE', `${this.protocol} connection closed with a request pending`));
    const force = !this.client.connected || Object.keys(this.client.outgoing).length > 0;
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<void>((resolve) => (timer = setTimeout(() => (this.client.stream?.destroy(), resolve()), 3000)));
    await Promise.race([this.client.endAsync(force).catch(() => undefined), stuck]);
    clearTimeout(timer);
  }

  #failAll(err: Error): void {
    for (const w of this.#waiters) {
      clearTimeout(w.timer);
      w.reject(err);
    }
    this.#waiters.clear();
  }
}
