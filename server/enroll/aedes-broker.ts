/**
 * The embedded broker: aedes behind a TLS listener with the server's certificate from this PKI.
 * Client certificates are requested and verified against root + issuing CA but optional: a device
 * with one is known by its certificate CN (its serial), a device without one by its client id.
 * The enrollment service connects over an in-process stream, the only connection with full rights.
 * aedes 1.x speaks MQTT 3.1.1 (and 3.1) only: devices use the body `correlationId` fallback.
 */
import { Duplex } from 'node:stream';
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { Aedes, type Client } from 'aedes';
import { serialSchema } from '../../common/protocol/enrollment.js';
import type { Logger } from '../../common/log.js';
import { mayPublish, maySubscribe, type ClientIdentity } from './device-acl.js';

/** Options of the embedded broker. */
export interface AedesBrokerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  /** PEM: the server's key and certificate (+ issuing CA) and the CAs client certificates must chain to. */
  tls: { key: string | Buffer; cert: string | Buffer; ca: Array<string | Buffer> };
  /** True when a client certificate's serial (lowercase hex) is revoked; refused at CONNECT. */
  isRevoked?: (certificateSerialHex: string) => Promise<boolean>;
  log?: Logger;
}

type AuthError = Error & { returnCode: number };
const refuse = (message: string, returnCode = 5): AuthError => Object.assign(new Error(message), { returnCode });

/** A running embedded broker. */
export class AedesBroker {
  readonly #aedes: Aedes;
  readonly #server: Server;
  readonly #ids = new WeakMap<Client, ClientIdentity>();
  readonly #serviceStreams = new WeakSet<object>();
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
    // The hooks need `self`, which exists only after createBroker: bind through a holder.
    const holder: { b?: AedesBroker } = {};
    const aedes = await Aedes.createBroker({
      authenticate: (client, _username, _password, done) => {
        holder.b!.#authenticate(client, opts).then(
          (id) => { holder.b!.#ids.set(client, id); done(null, true); },
          (err: AuthError) => { log?.info({ clientId: client.id, reason: err.message }, 'mqtt connection refused'); done(err, false); },
        );
      },
      authorizePublish: (client, packet, done) => {
        if (!client) return done(null); // the broker's own messages (wills, $SYS)
        const id = holder.b!.#ids.get(client);
        if (id && mayPublish(id, packet.topic)) return done(null);
        log?.info({ clientId: client.id, topic: packet.topic }, 'mqtt publish refused');
        done(new Error(`publish to '${packet.topic}' not allowed`));
      },
      authorizeSubscribe: (client, sub, done) => {
        const id = holder.b!.#ids.get(client);
        if (id && maySubscribe(id, sub.topic)) return done(null, sub);
        log?.info({ clientId: client.id, filter: sub.topic }, 'mqtt subscribe refused');
        // A null subscription makes aedes answer SUBACK 0x80 (MQTT 3.1.1 §3.9.3) and keep the connection.
        done(null, null);
      },
    });
    const server = createServer(
      { key: opts.tls.key, cert: opts.tls.cert, ca: opts.tls.ca, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2' },
      (socket) => {
        // Enrollment is a few small request/response packets: Nagle's delay would dominate.
        socket.setNoDelay(true);
        aedes.handle(socket);
      },
    );
    const b = new AedesBroker(aedes, server);
    holder.b = b;
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(opts.port, opts.host, () => {
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

  async #authenticate(client: Client, opts: AedesBrokerOptions): Promise<ClientIdentity> {
    if (this.#serviceStreams.has(client.conn)) return { kind: 'service' };
    const socket = client.conn as TLSSocket;
    const cert = typeof socket.getPeerCertificate === 'function' ? socket.getPeerCertificate() : undefined;
    const hasCert = cert !== undefined && Object.keys(cert).length > 0;
    if (hasCert) {
      // A certificate that fails verification is refused outright, never downgraded to a client-id identity.
      if (!socket.authorized) throw refuse(`client certificate not trusted: ${String(socket.authorizationError)}`);
      const cn = Array.isArray(cert.subject?.CN) ? cert.subject.CN[0] : cert.subject?.CN;
      if (!cn || !serialSchema.safeParse(cn).success) throw refuse(`client certificate CN '${cn}' is not a device serial`);
      if (opts.isRevoked && (await opts.isRevoked(cert.serialNumber.toLowerCase()))) throw refuse(`client certificate ${cert.serialNumber} is revoked`);
      // The client id must name the same device, so no one can take over (disconnect) another device's session.
      if (client.id !== cn) throw refuse(`client id '${client.id}' is not the certificate's serial ${cn}`, 2);
      return { kind: 'certificate', serial: cn };
    }
    if (!serialSchema.safeParse(client.id).success) throw refuse(`client id '${client.id}' is not a device serial (18 uppercase hex digits)`, 2);
    return { kind: 'client-id', serial: client.id };
  }

  /** Stops accepting, disconnects every client and closes aedes. */
  async close(): Promise<void> {
    await new Promise<void>((resolve) => this.#aedes.close(() => resolve()));
    await new Promise<void>((resolve) => this.#server.close(() => resolve()));
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
