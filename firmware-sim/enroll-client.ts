/**
 * The device's MQTT link for enrollment: one TLS connection (the broker's certificate verified
 * against the pinned root, client id = chip serial), the device's own answer topic subscribed,
 * and request/response over it. MQTT 5 request/response (Response Topic + Correlation Data,
 * MQTT 5.0 §4.10) where the broker speaks it, the 3.1.1 fallback (correlationId in the body)
 * otherwise; the body always carries correlationId, so answers match either way.
 */
import { randomBytes } from 'node:crypto';
import { isIP, type Socket } from 'node:net';
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { KeylineError, type ErrorCode } from '../common/errors.js';
import {
  encodeMessage, enrollRequestTopic, enrollResponse, enrollResponseTopic, type EnrollRequest, type EnrollResponse, type ErrorMessage,
} from '../common/protocol/enrollment.js';
import { batchAcksPerTurn } from '../common/mqtt-ack-batching.js';
import { responseIfWellFormed } from './response-shape.js';

/** How to reach the broker. */
export interface EnrollClientOptions {
  /** `mqtts://host:port` (or `mqtt://` for a plain test broker). */
  brokerUrl: string;
  /** The pinned root (PEM) the broker's TLS certificate must chain to. */
  rootCaPem: string;
  /** The chip serial (18 upper-case hex digits): client id and topic segment. */
  serial: string;
  /** 5, 4 (3.1.1) or 'auto' (5, falling back to 3.1.1 when the broker refuses it; default). */
  protocolVersion?: 5 | 4 | 'auto';
  /** Connect and per-request time limit in ms (default 10 s). */
  timeoutMs?: number;
  /** QoS of the requests and of the answer subscription (default 1; 0 = at most once, the device retries on timeout). */
  qos?: 0 | 1;
}

/** A refusal from the enrollment service, carrying its wire code. */
export class EnrollmentRefusedError extends KeylineError {
  readonly retryAfterSeconds?: number;
  constructor(msg: ErrorMessage) {
    // The wire codes are ERROR_TABLE codes (common/protocol/enrollment.ts ENROLL_ERROR_CODES).
    super(msg.code as ErrorCode, `enrollment refused: ${msg.code}: ${msg.message}`, { detail: { wireCode: msg.code } });
    if (msg.retryAfterSeconds !== undefined) this.retryAfterSeconds = msg.retryAfterSeconds;
  }
}

// Brokers that refused MQTT 5 once are spoken to in 3.1.1 from then on (a fleet connects many times).
const speaksV4Only = new Set<string>();

/** One device's enrollment connection. */
export class EnrollClient {
  readonly #pending = new Map<string, { resolve: (m: EnrollResponse) => void; reject: (e: Error) => void; timer: NodeJS.Timeout }>();

  private constructor(
    private readonly client: MqttClient,
    private readonly serial: string,
    readonly protocolVersion: 4 | 5,
    private readonly timeoutMs: number,
    private readonly qos: 0 | 1,
  ) {
    client.on('message', (topic, payload, packet) => this.#onMessage(topic, payload, packet.properties?.correlationData));
    // An answer's PUBACK leaves with the request it leads to (a proof after its challenge: the
    // chip's counter and signature run in the same turn here), in one TLS write.
    batchAcksPerTurn(client);
  }

  /** Connects, subscribes to the device's answer topic, and resolves once both are acknowledged. */
  static async connect(opts: EnrollClientOptions): Promise<EnrollClient> {
    const timeoutMs = opts.timeoutMs ?? 10_000;
    const want = opts.protocolVersion ?? 'auto';
    const first: 4 | 5 = want === 'auto' ? (speaksV4Only.has(opts.brokerUrl) ? 4 : 5) : want;
    let client: MqttClient;
    let version = first;
    try {
      client = await open(opts, first, timeoutMs);
    } catch (err) {
      // A 3.1.1-only broker answers CONNACK 0x01 (unacceptable protocol version, MQTT 3.1.1
      // §3.2.2.3) or drops the connection; either way, retry once in 3.1.1.
      if (want !== 'auto' || first === 4 || (err as KeylineError).detail?.phase !== 'handshake') throw err;
      speaksV4Only.add(opts.brokerUrl);
      client = await open(opts, (version = 4), timeoutMs);
    }
    const qos = opts.qos ?? 1;
    const c = new EnrollClient(client, opts.serial, version, timeoutMs, qos);
    // With reconnectPeriod 0, mqtt.js never settles a SUBSCRIBE whose connection dropped before
    // SUBACK (a broker restart): bound it by the connection's close and the time limit.
    let timer: NodeJS.Timeout | undefined;
    let onClose: (() => void) | undefined;
    const lost = new Promise<never>((_, reject) => {
      onClose = () => reject(new KeylineError('BROKER_UNREACHABLE', `connection of ${opts.serial} closed before SUBACK`));
      client.once('close', onClose);
      timer = setTimeout(() => reject(new KeylineError('ENROLLMENT_TIMEOUT', `no SUBACK for ${opts.serial} within ${timeoutMs} ms`)), timeoutMs);
    });
    try {
      await Promise.race([client.subscribeAsync(enrollResponseTopic(opts.serial), { qos }), lost]);
    } catch (err) {
      await c.close();
      if (err instanceof KeylineError) throw err;
      throw new KeylineError('FORBIDDEN', `broker refused subscription to ${enrollResponseTopic(opts.serial)}`, { cause: err });
    } finally {
      clearTimeout(timer);
      client.removeListener('close', onClose!);
    }
    return c;
  }

  // Correlation ids only match answers to this connection's requests: a random prefix per
  // connection and a count (16 hex digits as before) instead of 8 random bytes per request.
  readonly #idPrefix = randomBytes(4).toString('hex');
  #requests = 0;
  #nextCorrelationId(): string {
    this.#requests = (this.#requests + 1) >>> 0;
    return this.#idPrefix + this.#requests.toString(16).padStart(8, '0');
  }

  /** Publishes `msg` on the device's request topic and resolves with the matching answer. */
  request(msg: EnrollRequest): Promise<EnrollResponse> {
    const correlationId = this.#nextCorrelationId();
    const body = { ...msg, correlationId } as EnrollRequest;
    return new Promise<EnrollResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.#pending.delete(correlationId);
        reject(new KeylineError('ENROLLMENT_TIMEOUT', `no answer to ${msg.type} from ${this.serial} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.#pending.set(correlationId, { resolve, reject, timer });
      const properties = this.protocolVersion === 5 ? { properties: { responseTopic: enrollResponseTopic(this.serial), correlationData: Buffer.from(correlationId) } } : {};
      this.client.publish(enrollRequestTopic(this.serial), Buffer.from(encodeMessage(body)), { qos: this.qos, ...properties }, (err) => {
        if (!err) return;
        clearTimeout(timer);
        this.#pending.delete(correlationId);
        reject(new KeylineError('BROKER_UNREACHABLE', `publish ${msg.type} for ${this.serial} failed: ${err.message}`, { cause: err }));
      });
    });
  }

  /** Disconnects (DISCONNECT sent, socket closed); pending requests fail. */
  async close(): Promise<void> {
    for (const [id, p] of this.#pending) {
      clearTimeout(p.timer);
      p.reject(new KeylineError('BROKER_UNREACHABLE', `connection of ${this.serial} closed with a request pending`));
      this.#pending.delete(id);
    }
    // A polite end() waits for every in-flight QoS 1 acknowledgement, which never comes once the
    // broker is gone (reconnectPeriod 0): the fleet then hangs. Force the close in that case.
    const force = !this.client.connected || Object.keys(this.client.outgoing).length > 0;
    // And if the connection drops while a polite end runs, give up on it after 3 s.
    let timer: NodeJS.Timeout | undefined;
    const stuck = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        this.client.stream?.destroy();
        resolve();
      }, 3000);
    });
    await Promise.race([this.client.endAsync(force).catch(() => undefined), stuck]);
    clearTimeout(timer);
  }

  #onMessage(topic: string, payload: Buffer, correlationData: Buffer | undefined): void {
    if (topic !== enrollResponseTopic(this.serial)) return;
    let parsed: EnrollResponse;
    try {
      const body: unknown = JSON.parse(payload.toString('utf8'));
      parsed = responseIfWellFormed(body) ?? enrollResponse.parse(body);
    } catch {
      // An answer the device cannot read: fail the one it belongs to when that can be told.
      const id = correlationData?.toString() ?? '';
      this.#settle(id, undefined, new KeylineError('BAD_SERVER_RESPONSE', `unreadable answer on ${topic}`));
      return;
    }
    this.#settle(parsed.correlationId ?? correlationData?.toString() ?? '', parsed);
  }

  #settle(id: string, msg?: EnrollResponse, err?: Error): void {
    const p = this.#pending.get(id);
    if (!p) return; // late or foreign answer: ignored, as a device must
    this.#pending.delete(id);
    clearTimeout(p.timer);
    if (err) p.reject(err);
    else p.resolve(msg!);
  }
}

const CLOSED_EARLY = 'connection closed before CONNACK';

/** Opens one MQTT connection and waits for CONNACK; TCP_NODELAY on (mqtt.js has no option for it). */
function open(opts: EnrollClientOptions, protocolVersion: 4 | 5, timeoutMs: number): Promise<MqttClient> {
  const url = new URL(opts.brokerUrl);
  const options: IClientOptions = {
    clientId: opts.serial,
    protocolVersion,
    clean: true,
    reconnectPeriod: 0,
    connectTimeout: timeoutMs,
    keepalive: 60,
    ...(url.protocol === 'mqtts:' ? { ca: opts.rootCaPem, rejectUnauthorized: true, ...(isIP(url.hostname) ? {} : { servername: url.hostname }) } : {}),
  };
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(opts.brokerUrl, options);
    const fail = (err: Error & { code?: unknown }) => {
      client.removeAllListeners();
      client.on('error', () => undefined);
      client.end(true);
      // A numeric code is a CONNACK refusal, a socket closed before CONNACK is a broker that
      // dropped the CONNECT (both: 'handshake', worth one retry in 3.1.1); a string code (ECONNREFUSED,
      // a TLS verification failure) is the network or the broker's identity.
      const phase = typeof err.code === 'number' || err.message === CLOSED_EARLY ? 'handshake' : 'network';
      const code = /timeout/i.test(err.message) ? 'ENROLLMENT_TIMEOUT' : 'BROKER_UNREACHABLE';
      reject(new KeylineError(code, `cannot connect to ${opts.brokerUrl} as ${opts.serial} (MQTT ${protocolVersion === 5 ? '5' : '3.1.1'}): ${err.message}`, { cause: err, detail: { phase } }));
    };
    client.once('connect', () => {
      client.removeListener('error', fail);
      client.removeListener('close', onClose);
      (client.stream as Partial<Socket>).setNoDelay?.(true);
      client.on('error', () => undefined); // later errors surface as request timeouts or close
      resolve(client);
    });
    const onClose = () => fail(new Error(CLOSED_EARLY));
    client.once('error', fail);
    client.once('close', onClose);
  });
}
