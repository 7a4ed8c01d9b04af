/**
 * The embedded broker: aedes behind a TLS listener with the server's certificate from this PKI.
 * Client certificates are requested and verified against root + issuing CA but optional: a device
 * with one is known by its certificate CN (its serial), a device without one by its client id,
 * admitted only when the admission hook knows the unit and its id is not bound to a certificate.
 * The enrollment service connects over an in-process stream, the only connection with full rights.
 * aedes 1.x speaks MQTT 3.1.1 (and 3.1) only: devices use the body `correlationId` fallback.
 *
 * Issue 11: every device byte passes a FrameGuard (packet size) before aedes parses it; device
 * packets then meet the topic policy (device-acl.ts), the per-connection rules (client-limits.ts)
 * and the client-id claims (client-id-claims.ts); limits are in broker-limits.ts.
 */
import { Duplex } from 'node:stream';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import { Aedes, type Client } from 'aedes';
import { serialSchema } from '../../common/protocol/enrollment.js';
import type { Logger } from '../../common/log.js';
import { DEFAULT_BROKER_LIMITS, type BrokerLimits } from './broker-limits.js';
import { ClientIdClaims } from './client-id-claims.js';
import { ClientLimits } from './client-limits.js';
import { refuseClientIds, withBindingCache, type DeviceAdmission } from './device-admission.js';
import { mayPublish, maySubscribe, type ClientIdentity } from './device-acl.js';
import { FrameGuard } from './frame-guard.js';

/** Options of the embedded broker. */
export interface AedesBrokerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  /** PEM: the server's key and certificate (+ issuing CA) and the CAs client certificates must chain to. */
  tls: { key: string | Buffer; cert: string | Buffer; ca: Array<string | Buffer> };
  /** True when a client certificate's serial (lowercase hex) is revoked; refused at CONNECT. */
  isRevoked?: (certificateSerialHex: string) => Promise<boolean>;
  /** Who may connect without a certificate, and where certificate bindings are kept (default: nobody, nowhere). */
  admission?: DeviceAdmission;
  /** Limits of the device listener; each absent one takes its DEFAULT_BROKER_LIMITS value. */
  limits?: Partial<BrokerLimits>;
  log?: Logger;
}

type AuthError = Error & { returnCode: number };
/** CONNACK return codes used (MQTT 3.1.1 §3.2.2.3). */
const IDENTIFIER_REJECTED = 2;
const SERVER_UNAVAILABLE = 3;
const NOT_AUTHORIZED = 5;
const refuse = (message: string, returnCode = NOT_AUTHORIZED): AuthError => Object.assign(new Error(message), { returnCode });

/** A running embedded broker. */
export class AedesBroker {
  readonly #aedes: Aedes;
  readonly #server: Server;
  readonly #ids = new WeakMap<Client, ClientIdentity>();
  readonly #serviceStreams = new WeakSet<object>();
  /** Device connections whose CONNECT carried a Will (refused: the protocol has none). */
  readonly #wills = new WeakSet<Client>();
  readonly #claims = new ClientIdClaims<Client>((c) => !c.closed && !c.conn.destroyed);
  readonly #sockets = new Set<Socket>();
  #closed = false;
  /** mqtts://host:port of the TLS listener. */
  url = '';
  port = 0;

  private constructor(aedes: Aedes, server: Server) {
    this.#aedes = aedes;
    this.#server = server;
  }

  /** Starts aedes and the TLS listener. */
  static async start(opts: AedesBrokerOptions): Promise<AedesBroker> {
    const log = opts.log;
    const limits: BrokerLimits = { ...DEFAULT_BROKER_LIMITS, ...opts.limits };
    const admission = withBindingCache(opts.admission ?? refuseClientIds);
    const rules = new ClientLimits(limits);
    // The hooks need `self`, which exists only after createBroker: bind through a holder.
    const holder: { b?: AedesBroker } = {};
    const isService = (client: Client) => holder.b!.#serviceStreams.has(client.conn);
    const aedes = await Aedes.createBroker({
      connectTimeout: limits.connectTimeoutSeconds * 1000,
      queueLimit: limits.queueLimit,
      // QoS 2 is refused before aedes stores anything (authorizePublish runs first); this bounds it regardless.
      maxInflightInbound: 16,
      preConnect: (client, packet, done) => {
        if (!isService(client)) {
          if (packet.will) holder.b!.#wills.add(client);
          // Device sessions are never kept: a CleanSession 0 session would queue answers for an
          // absent device in this process's memory. CONNACK then says session present 0 (§3.2.2.2).
          packet.clean = true;
        }
        done(null, true);
      },
      authenticate: (client, _username, _password, done) => {
        const b = holder.b!;
        b.#authenticate(client, opts, admission).then(
          (id) => {
            // Claimed synchronously here, after every await, so racing CONNECTs cannot both win.
            if (id.kind !== 'service' && !b.#claims.claim(id.serial, client, id.kind)) {
              const err = refuse(`client id '${id.serial}' is connected; a connection without a certificate displaces nobody`, IDENTIFIER_REJECTED);
              log?.info({ clientId: client.id, reason: err.message }, 'mqtt connection refused');
              return done(err, false);
            }
            if (id.kind !== 'service') client.conn.once('close', () => b.#claims.release(id.serial, client));
            b.#ids.set(client, id);
            done(null, true);
          },
          (err: AuthError) => {
            log?.info({ clientId: client.id, reason: err.message, code: err.returnCode }, 'mqtt connection refused');
            done(err, false);
          },
        );
      },
      authorizePublish: (client, packet, done) => {
        if (!client) return done(null); // the broker's own messages ($SYS)
        const id = holder.b!.#ids.get(client);
        if (id?.kind === 'service') return done(null);
        const why = !id ? 'not authenticated'
          : !mayPublish(id, packet.topic) ? `publish to '${packet.topic}' not allowed`
          : rules.checkPublish(client, packet);
        if (why === null) return done(null);
        log?.info({ clientId: client.id, topic: packet.topic, reason: why }, 'mqtt publish refused');
        // An error from this hook makes aedes close the connection (no PUBACK in 3.1.1 can refuse).
        done(new Error(why));
      },
      authorizeSubscribe: (client, sub, done) => {
        const id = holder.b!.#ids.get(client);
        if (id?.kind === 'service') return done(null, sub);
        if (id && maySubscribe(id, sub.topic) && rules.maySubscribe(client, sub.topic)) return done(null, { ...sub, qos: Math.min(sub.qos, 1) as 0 | 1 });
        log?.info({ clientId: client.id, filter: sub.topic }, 'mqtt subscribe refused');
        // A null subscription makes aedes answer SUBACK 0x80 (MQTT 3.1.1 §3.9.3) and keep the connection.
        done(null, null);
      },
    });
    const server = createServer(
      {
        key: opts.tls.key, cert: opts.tls.cert, ca: opts.tls.ca, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2',
        handshakeTimeout: limits.connectTimeoutSeconds * 1000,
      },
      (socket) => {
        // Enrollment is a few small request/response packets: Nagle's delay would dominate.
        socket.setNoDelay(true);
        socket.setTimeout(limits.idleTimeoutSeconds * 1000, () => socket.destroy());
        const guard = new FrameGuard(socket, limits.maxPacketBytes, (v) =>
          log?.info({ remote: socket.remoteAddress, violation: v }, 'mqtt connection closed: packet refused by the frame guard'));
        aedes.handle(guard);
      },
    );
    // Beyond this, node closes new sockets at accept (net.Server maxConnections).
    server.maxConnections = limits.maxConnections;
    // A handshake that fails or times out leaves the socket open unless someone closes it.
    server.on('tlsClientError', (err, socket) => {
      log?.debug({ remote: socket.remoteAddress, err }, 'mqtt tls handshake failed');
      socket.destroy();
    });
    const b = new AedesBroker(aedes, server);
    // Every accepted socket, so close() can end the ones aedes never saw (mid-handshake).
    server.on('connection', (raw: Socket) => {
      b.#sockets.add(raw);
      raw.once('close', () => b.#sockets.delete(raw));
    });
    holder.b = b;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Outside node:cluster's shared sockets: aedes keeps its sessions in this process, so the
      // listener is this process's alone (one worker runs the broker), and it must not take a
      // place in the order that matches the workers' port-0 listens (server/cluster-primary.ts).
      server.listen({ port: opts.port, host: opts.host, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    b.port = (server.address() as AddressInfo).port;
    b.url = `mqtts://${opts.host}:${b.port}`;
    return b;
  }

  /** A new in-process connection for the enrollment service (full rights; pass it to MqttBroker). */
  serviceStream(): Duplex {
    const [serviceSide, brokerSide] = duplexPair();
    this.#serviceStreams.add(brokerSide);
    this.#aedes.handle(brokerSide);
    return serviceSide;
  }

  async #authenticate(client: Client, opts: AedesBrokerOptions, admission: DeviceAdmission): Promise<ClientIdentity> {
    if (this.#serviceStreams.has(client.conn)) return { kind: 'service' };
    const socket = (client.conn as unknown as FrameGuard).socket as TLSSocket;
    const cert = socket.getPeerCertificate();
    const hasCert = cert !== undefined && Object.keys(cert).length > 0;
    if (this.#wills.has(client)) throw refuse('a Will message is not accepted from devices');
    if (hasCert) {
      // A certificate that fails verification is refused outright, never downgraded to a client-id identity.
      if (!socket.authorized) throw refuse(`client certificate not trusted: ${String(socket.authorizationError)}`);
      const cn = Array.isArray(cert.subject?.CN) ? cert.subject.CN[0] : cert.subject?.CN;
      if (!cn || !serialSchema.safeParse(cn).success) throw refuse(`client certificate CN '${cn}' is not a device serial`);
      if (opts.isRevoked && (await opts.isRevoked(cert.serialNumber.toLowerCase()))) throw refuse(`client certificate ${cert.serialNumber} is revoked`);
      // The client id must name the same device, so no one can take over (disconnect) another device's session.
      if (client.id !== cn) throw refuse(`client id '${client.id}' is not the certificate's serial ${cn}`, IDENTIFIER_REJECTED);
      // Bound before admitted: from this CONNECT on, the id is never given to a connection without the certificate.
      await admission.bindCertificate(cn).catch((err: unknown) => {
        throw Object.assign(refuse(`binding ${cn} to its certificate failed; retry later`, SERVER_UNAVAILABLE), { cause: err });
      });
      return { kind: 'certificate', serial: cn };
    }
    if (!serialSchema.safeParse(client.id).success) throw refuse(`client id '${client.id}' is not a device serial (18 or 36 uppercase hex digits)`, IDENTIFIER_REJECTED);
    const standing = await admission.clientIdStanding(client.id).catch((err: unknown) => {
      throw Object.assign(refuse(`admission of ${client.id} could not be checked; retry later`, SERVER_UNAVAILABLE), { cause: err });
    });
    if (standing === 'unknown') throw refuse(`client id '${client.id}' is not a provisioned unit`);
    if (standing === 'bound') throw refuse(`client id '${client.id}' is bound to its certificate; connect with it`);
    return { kind: 'client-id', serial: client.id };
  }

  /** Stops accepting, disconnects every client and closes aedes (idempotent). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await new Promise<void>((resolve) => this.#aedes.close(() => resolve()));
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const raw of this.#sockets) raw.destroy();
    await closed;
  }
}

/**
 * Two Duplex ends wired to each other (node 20 has no stream.duplexPair). Plain Duplex objects, not
 * Duplex.from(): destroying a composed stream emits an AbortError nobody listens for, and aedes
 * destroys the connection on every DISCONNECT.
 */
function duplexPair(): [Duplex, Duplex] {
  const ends: Duplex[] = [];
  const make = (peer: () => Duplex) =>
    new Duplex({
      read() {},
      write(chunk, _enc, cb) {
        peer().push(chunk);
        cb();
      },
      final(cb) {
        peer().push(null);
        cb();
      },
      destroy(err, cb) {
        const p = peer();
        if (!p.destroyed) p.push(null);
        cb(err);
      },
    });
  ends.push(make(() => ends[1]!), make(() => ends[0]!));
  return [ends[0]!, ends[1]!];
}
