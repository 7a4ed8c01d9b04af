/**
 * The TLS listener of a cloud-protocol endpoint: client certificates requested and checked
 * against this PKI (refused at CONNECT with a return code rather than in the handshake, as the
 * embedded broker does, so a device learns why), TLS 1.2 at least, and the embedded broker's
 * hardening reused as it is: every byte passes a FrameGuard before the MQTT parser sees it
 * (issue 11: the packet size is decided on the fixed header), the per-connection rules of
 * client-limits.ts, the connection cap, the handshake/CONNECT deadline and the idle timeout of
 * broker-limits.ts. Each connection is one MqttSession: there is no broker behind it.
 */
import { createServer, type Server, type TLSSocket } from 'node:tls';
import type { AddressInfo, Socket } from 'node:net';
import { normaliseSerialHex } from '../../../common/certificate-serial.js';
import type { Logger } from '../../../common/log.js';
import type { BrokerLimits } from '../../enroll/broker-limits.js';
import { ClientLimits } from '../../enroll/client-limits.js';
import { FrameGuard } from '../../enroll/frame-guard.js';
import { MqttSession, type SessionPolicy, type TlsPeer } from './mqtt-session.js';

/** Options of one endpoint listener. */
export interface MqttListenerOptions<Id> {
  /** For the log and the printed URL ('aws-fleet', 'dps'). */
  name: string;
  host: string;
  /** 0 = any free port. */
  port: number;
  /** PEM: the server's key and certificate chain, and the CAs client certificates must chain to. */
  tls: { key: string | Buffer; cert: string | Buffer; ca: Array<string | Buffer> };
  /**
   * ALPN: 'aws' selects `x-amzn-mqtt-ca` (or `mqtt`) when the client offers it and negotiates none
   * otherwise (the AWS SDK always offers `x-amzn-mqtt-ca`, and a server that selects anything
   * else fails its handshake); 'none' configures no ALPN at all (DPS clients send none).
   */
  alpn: 'aws' | 'none';
  limits: BrokerLimits;
  policy: SessionPolicy<Id>;
  log?: Logger;
}

/** A running listener. */
export class MqttListener<Id> {
  readonly #server: Server;
  readonly #sockets = new Set<Socket>();
  readonly #sessions: Set<MqttSession<Id>>;
  #closed = false;
  /** mqtts://host:port */
  url = '';
  port = 0;

  private constructor(server: Server, sessions: Set<MqttSession<Id>>) {
    this.#server = server;
    this.#sessions = sessions;
  }

  /** Starts listening. */
  static async start<Id>(o: MqttListenerOptions<Id>): Promise<MqttListener<Id>> {
    const rules = new ClientLimits(o.limits);
    const sessionLimits = { queueLimit: o.limits.queueLimit, maxPacketBytes: o.limits.maxPacketBytes };
    const sessions = new Set<MqttSession<Id>>();
    const server = createServer(
      {
        key: o.tls.key, cert: o.tls.cert, ca: o.tls.ca, requestCert: true, rejectUnauthorized: false, minVersion: 'TLSv1.2',
        handshakeTimeout: o.limits.connectTimeoutSeconds * 1000,
        // Only the MQTT protocol ids are ever selected: node makes a callback's "none" a fatal
        // no_application_protocol alert (RFC 7301 §3.2), the right answer to a client that offers
        // no MQTT at all. A client that sends no ALPN extension is not asked.
        ...(o.alpn === 'aws' ? { ALPNCallback: ({ protocols }: { protocols: string[] }) => protocols.find((p) => p === 'x-amzn-mqtt-ca') ?? protocols.find((p) => p === 'mqtt') } : {}),
      },
      (socket: TLSSocket) => {
        socket.setNoDelay(true);
        socket.setTimeout(o.limits.idleTimeoutSeconds * 1000, () => socket.destroy());
        const guard = new FrameGuard(socket, o.limits.maxPacketBytes, (v) => o.log?.info({ endpoint: o.name, remote: socket.remoteAddress, violation: v }, 'connection closed: packet refused by the frame guard'));
        const session = new MqttSession<Id>(guard, peerOf(socket), o.policy, rules, sessionLimits, (reason) => {
          sessions.delete(session);
          o.log?.debug({ endpoint: o.name, clientId: session.clientId, reason }, 'connection closed');
        });
        sessions.add(session);
        // The embedded broker's connect timeout: from the handshake's end to an accepted CONNECT.
        setTimeout(() => {
          if (!session.open) session.close('no accepted CONNECT in time');
        }, o.limits.connectTimeoutSeconds * 1000).unref();
      },
    );
    server.maxConnections = o.limits.maxConnections;
    server.on('tlsClientError', (err, socket) => {
      o.log?.debug({ endpoint: o.name, remote: socket.remoteAddress, err }, 'tls handshake failed');
      socket.destroy();
    });
    const l = new MqttListener<Id>(server, sessions);
    server.on('connection', (raw: Socket) => {
      l.#sockets.add(raw);
      raw.once('close', () => l.#sockets.delete(raw));
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      // Sessions live in this process: the listener is not shared with cluster workers.
      server.listen({ port: o.port, host: o.host, exclusive: true }, () => {
        server.off('error', reject);
        resolve();
      });
    });
    l.port = (server.address() as AddressInfo).port;
    l.url = `mqtts://${o.host}:${l.port}`;
    return l;
  }

  /** Open sessions (for tests and metrics). */
  get sessions(): number {
    return this.#sessions.size;
  }

  /** Stops accepting and ends every connection (idempotent). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    const closed = new Promise<void>((resolve) => this.#server.close(() => resolve()));
    for (const s of this.#sessions) s.close('listener closing');
    for (const raw of this.#sockets) raw.destroy();
    await closed;
  }
}

/** What the handshake established, read once from the socket. */
function peerOf(socket: TLSSocket): TlsPeer {
  const cert = socket.getPeerCertificate();
  const has = cert !== undefined && Object.keys(cert).length > 0 && Buffer.isBuffer(cert.raw);
  const cn = has ? (Array.isArray(cert.subject?.CN) ? cert.subject.CN[0] : cert.subject?.CN) : undefined;
  return {
    authorized: socket.authorized,
    ...(socket.authorizationError ? { authorizationError: String(socket.authorizationError) } : {}),
    ...(has ? { leaf: { der: cert.raw, cn, serialHex: normaliseSerialHex(cert.serialNumber) } } : {}),
  };
}
