/**
 * One device connection of a cloud-protocol endpoint, as an MQTT server sees it (MQTT 3.1.1 and
 * MQTT 5 over mqtt-packet, the codec aedes and MQTT.js use). Not a broker: nothing a device
 * publishes reaches another connection, and the only PUBLISH a device ever receives is an answer
 * to its own request, written on its own connection by `publish` (AWS Fleet Provisioning has no
 * correlation token and DPS none beyond `$rid`: a broker's fan-out would hand one device's
 * certificate, token or registration to every device subscribed to the same reply topic).
 *
 * The per-connection rules of the embedded broker apply unchanged (client-limits.ts: no retain,
 * QoS 0/1, publish rate, subscription cap); the listener puts a FrameGuard under the session.
 */
import type { Duplex } from 'node:stream';
import mqttPacket from 'mqtt-packet';
import type { IConnectPacket, IPublishPacket, Packet } from 'mqtt-packet';
import { topicMatches } from '../../enroll/topic-match.js';
import type { ClientLimits } from '../../enroll/client-limits.js';

/** CONNACK return codes (MQTT 3.1.1 §3.2.2.3); MQTT 5 sessions send the matching reason code. */
export type ConnackCode = 0 | 1 | 2 | 3 | 4 | 5;
/** MQTT 5 §3.2.2.2 reason codes of the 3.1.1 return codes. */
const V5_CONNACK: Record<ConnackCode, number> = { 0: 0x00, 1: 0x84, 2: 0x85, 3: 0x88, 4: 0x86, 5: 0x87 };

/** What the endpoint decides for a session (one adapter per protocol). */
export interface SessionPolicy<Id> {
  /** MQTT versions served: 4 (3.1.1) and/or 5. */
  versions: ReadonlyArray<4 | 5>;
  /** Authenticates a CONNECT on a TLS connection: the identity, or the return code to refuse with (and why, for the log). */
  connect(packet: IConnectPacket, peer: TlsPeer): Promise<{ id: Id } | { refuse: ConnackCode; reason: string }>;
  /** Whether this identity may hold `filter` (a refused one gets SUBACK 0x80 / 0x87). */
  maySubscribe(id: Id, filter: string): boolean;
  /** Whether a PUBLISH to `topic` is a request of this protocol; any other closes the connection. */
  accepts(topic: string): boolean;
  /** One request; the answer goes back through `session.publish`. */
  onRequest(session: MqttSession<Id>, topic: string, payload: Buffer): void;
}

/** What the TLS handshake established about the client (the listener reads it from the socket). */
export interface TlsPeer {
  /** True when the client's certificate chains to a trusted CA (node's `socket.authorized`). */
  authorized: boolean;
  /** Why it does not, when it does not. */
  authorizationError?: string;
  /** The client's leaf certificate, when it sent one. */
  leaf?: { der: Buffer; cn: string | undefined; serialHex: string };
}

/** Limits of one session besides the shared per-connection rules. */
export interface SessionLimits {
  /** Packets a client may send before its CONNACK (aedes' queueLimit). */
  queueLimit: number;
  /** Largest packet the server sends (a client's MQTT 5 Maximum Packet Size may lower it). */
  maxPacketBytes: number;
}

/** An MQTT session over one (already guarded) byte stream. */
export class MqttSession<Id> {
  /** The authenticated identity, once CONNACK 0 was sent. */
  id: Id | undefined;
  clientId = '';
  version: 4 | 5 = 4;
  readonly #stream: Duplex;
  readonly #policy: SessionPolicy<Id>;
  readonly #rules: ClientLimits;
  readonly #limits: SessionLimits;
  readonly #onClose: (reason: string) => void;
  readonly #subs = new Map<string, 0 | 1>();
  #state: 'new' | 'connecting' | 'open' | 'closed' = 'new';
  /** Packets that arrived while CONNECT was being decided, handled after CONNACK. */
  readonly #early: Packet[] = [];
  #nextId = 1;
  #maxOut: number;
  #keepalive: NodeJS.Timeout | undefined;
  #keepaliveMs = 0;

  readonly #peer: TlsPeer;

  constructor(stream: Duplex, peer: TlsPeer, policy: SessionPolicy<Id>, rules: ClientLimits, limits: SessionLimits, onClose: (reason: string) => void = () => undefined) {
    this.#stream = stream;
    this.#peer = peer;
    this.#policy = policy;
    this.#rules = rules;
    this.#limits = limits;
    this.#maxOut = limits.maxPacketBytes;
    this.#onClose = onClose;
    const parser = mqttPacket.parser();
    parser.on('packet', (p: Packet) => this.#packet(p));
    parser.on('error', (err: Error) => this.close(`malformed packet: ${err.message}`));
    stream.on('data', (chunk: Buffer) => {
      if (this.#state !== 'closed') parser.parse(chunk);
    });
    stream.on('error', () => this.close('stream error'));
    stream.on('close', () => this.close('connection closed'));
    stream.on('end', () => this.close('connection ended'));
  }

  /** Whether the session is open (CONNACK 0 sent, not closed). */
  get open(): boolean {
    return this.#state === 'open';
  }

  /**
   * Sends `payload` on `topic` to this connection only, at the QoS of its matching subscription
   * (at most 1); false when the client holds no subscription that matches (nothing is sent, as
   * a server sends a client only what it subscribed to, MQTT 3.1.1 §3.3.5).
   */
  publish(topic: string, payload: Buffer): boolean {
    if (this.#state !== 'open') return false;
    let qos: 0 | 1 | -1 = -1;
    for (const [f, q] of this.#subs) if (topicMatches(f, topic) && q > qos) qos = q;
    if (qos === -1) return false;
    const packet: IPublishPacket = { cmd: 'publish', topic, payload, qos, retain: false, dup: false, ...(qos === 1 ? { messageId: this.#packetId() } : {}) };
    return this.#send(packet);
  }

  /** Ends the connection (idempotent); an MQTT 5 session is told why with a DISCONNECT reason code when given. */
  close(reason: string, v5ReasonCode?: number): void {
    if (this.#state === 'closed') return;
    if (v5ReasonCode !== undefined && this.version === 5 && this.#state === 'open') this.#send({ cmd: 'disconnect', reasonCode: v5ReasonCode });
    this.#state = 'closed';
    clearTimeout(this.#keepalive);
    this.#stream.end();
    this.#stream.destroy();
    this.#onClose(reason);
  }

  #packet(p: Packet): void {
    if (this.#state === 'closed') return;
    this.#touch();
    if (this.#state === 'new') {
      // MQTT 3.1.1 §3.1.0-1: the first packet is CONNECT.
      if (p.cmd !== 'connect') return this.close(`first packet is ${p.cmd}, not connect`);
      this.#state = 'connecting';
      return void this.#connect(p);
    }
    if (this.#state === 'connecting') {
      if (this.#early.push(p) > this.#limits.queueLimit) this.close(`more than ${this.#limits.queueLimit} packets before CONNACK`);
      return;
    }
    switch (p.cmd) {
      case 'connect': return this.close('a second CONNECT (MQTT 3.1.1 §3.1.0-2)');
      case 'pingreq': return void this.#send({ cmd: 'pingresp' });
      case 'disconnect': return this.close('client disconnected');
      case 'subscribe': return this.#subscribe(p.messageId ?? 0, p.subscriptions.map((s) => ({ topic: s.topic, qos: s.qos })));
      case 'unsubscribe': {
        const codes = p.unsubscriptions.map((f) => (this.#subs.delete(f) ? 0x00 : 0x11));
        return void this.#send({ cmd: 'unsuback', messageId: p.messageId ?? 0, ...(this.version === 5 ? { granted: codes } : {}) } as Packet);
      }
      case 'publish': return this.#publishIn(p);
      case 'puback': return; // answers to our QoS 1 deliveries: nothing is kept to retransmit
      default: return this.close(`unexpected ${p.cmd}`);
    }
  }

  async #connect(p: IConnectPacket): Promise<void> {
    const version = p.protocolVersion === 5 ? 5 : 4;
    this.version = version;
    if (p.protocolVersion === 3 || !this.#policy.versions.includes(version)) {
      // §3.1.2.2: answered in the version the server speaks, then closed.
      this.version = 4;
      this.#send({ cmd: 'connack', returnCode: 1, sessionPresent: false });
      return this.close(`MQTT protocol level ${p.protocolVersion} not served`);
    }
    this.clientId = p.clientId;
    const max = p.properties?.maximumPacketSize;
    if (max !== undefined) this.#maxOut = Math.min(this.#maxOut, max);
    let verdict: Awaited<ReturnType<SessionPolicy<Id>['connect']>>;
    try {
      verdict = await this.#policy.connect(p, this.#peer);
    } catch (err) {
      verdict = { refuse: 3, reason: `admission failed: ${(err as Error).message}` };
    }
    if (this.#state === 'closed') return;
    if ('refuse' in verdict) {
      this.#send(version === 5 ? { cmd: 'connack', reasonCode: V5_CONNACK[verdict.refuse], sessionPresent: false } : { cmd: 'connack', returnCode: verdict.refuse, sessionPresent: false });
      return this.close(verdict.reason);
    }
    this.id = verdict.id;
    this.#state = 'open';
    // §3.1.2.10: a client silent for one and a half keepalive periods is gone.
    this.#keepaliveMs = p.keepalive ? p.keepalive * 1500 : 0;
    this.#touch();
    // Sessions are never kept (CleanSession 0 is served as 1): session present is always 0.
    this.#send(version === 5
      ? { cmd: 'connack', reasonCode: 0, sessionPresent: false, properties: { maximumQoS: 1, retainAvailable: false, sharedSubscriptionAvailable: false, subscriptionIdentifiersAvailable: false, topicAliasMaximum: 0, maximumPacketSize: this.#limits.maxPacketBytes } }
      : { cmd: 'connack', returnCode: 0, sessionPresent: false });
    for (const early of this.#early.splice(0)) this.#packet(early);
  }

  #subscribe(messageId: number, subs: Array<{ topic: string; qos: number }>): void {
    const granted = subs.map(({ topic, qos }) => {
      if (!this.#policy.maySubscribe(this.id!, topic) || !this.#rules.maySubscribe(this, topic)) return this.version === 5 ? 0x87 : 0x80;
      const q = Math.min(qos, 1) as 0 | 1;
      this.#subs.set(topic, q);
      return q;
    });
    this.#send({ cmd: 'suback', messageId, granted });
  }

  #publishIn(p: IPublishPacket): void {
    const topic = p.topic;
    // Topic aliases are never granted (CONNACK Topic Alias Maximum 0): an alias is a protocol error.
    if (!topic || p.properties?.topicAlias !== undefined) return this.close('publish without a topic name', 0x94);
    const why = this.#rules.checkPublish(this, { qos: p.qos, retain: p.retain });
    if (why !== null) return this.close(why, p.qos > 1 ? 0x9b : p.retain ? 0x9a : 0x96);
    // A device publishes only requests of this protocol; anything else ends the connection, as
    // AWS IoT does for a publish its policy does not allow.
    if (!this.#policy.accepts(topic)) return this.close(`publish to '${topic}' is not a request of this endpoint`, 0x87);
    if (p.qos === 1) this.#send({ cmd: 'puback', messageId: p.messageId ?? 0 });
    this.#policy.onRequest(this, topic, Buffer.isBuffer(p.payload) ? p.payload : Buffer.from(p.payload));
  }

  #send(packet: Packet): boolean {
    const bytes = mqttPacket.generate(packet, { protocolVersion: this.version });
    if (bytes.length > this.#maxOut) return false;
    this.#stream.write(bytes);
    return true;
  }

  #packetId(): number {
    const id = this.#nextId;
    this.#nextId = id >= 65535 ? 1 : id + 1;
    return id;
  }

  #touch(): void {
    if (!this.#keepaliveMs) return;
    clearTimeout(this.#keepalive);
    this.#keepalive = setTimeout(() => this.close('keepalive expired'), this.#keepaliveMs);
    this.#keepalive.unref();
  }
}
