/**
 * The HTTPS listener of the API: TLS with this PKI's server certificate, client certificates
 * requested and checked against root + issuing CA (the verdict becomes a principal or a JSON
 * refusal in middleware/mtls.ts), and the socket-level limits a listener facing a factory
 * network needs.
 */
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import type { RequestListener } from 'node:http';
import type { Logger } from '../../common/log.js';

/** Where and how to listen. */
export interface HttpsListenerOptions {
  host: string;
  /** 0 = any free port. */
  port: number;
  tlsKeyFile: string;
  tlsCertFile: string;
  /** Sent after the server certificate: the CA that issued it. */
  issuingPem: string;
  /** Client certificates verify to these: the root and every issuing CA loaded at start, so a
   * client certified by a rotated-in CA is accepted when it sends only its own certificate. */
  trustedPems: string[];
  handler: RequestListener;
  /** Open connections accepted at once; more are closed on arrival. */
  maxConnections: number;
  log: Logger;
}

/** A listening API: its https:// URL, and close() that drops every connection. */
export interface HttpsListener {
  url: string;
  /** Replaces the CAs client certificates verify to (a CA loaded on activation, issue 19), for new connections. */
  trust(pems: string[]): void;
  close(): Promise<void>;
}

/** Starts the listener; resolves once it accepts connections. */
export async function listenHttps(o: HttpsListenerOptions): Promise<HttpsListener> {
  const identity = { key: readFileSync(o.tlsKeyFile), cert: readFileSync(o.tlsCertFile, 'utf8') + o.issuingPem };
  const server = createServer(
    {
      ...identity,
      ca: o.trustedPems,
      requestCert: true,
      // Unauthorised peers are let through the handshake so refusals get a JSON body (middleware/mtls.ts).
      rejectUnauthorized: false,
      minVersion: 'TLSv1.2',
    },
    o.handler,
  );
  // Batches of small requests: Nagle's delay would dominate latency.
  server.on('secureConnection', (s) => s.setNoDelay(true));
  // Malformed HTTP or a TLS failure never reaches Koa: log it here, once, and drop the socket.
  server.on('clientError', (err: NodeJS.ErrnoException, socket) => {
    o.log.warn({ err: { message: err.message, code: err.code } }, 'client connection error');
    socket.destroy();
  });
  server.on('tlsClientError', (err: NodeJS.ErrnoException) => o.log.debug({ err: { message: err.message, code: err.code } }, 'TLS handshake failed'));
  // Stations keep their connections for a whole shift; Node's 5 s default makes an idle
  // station's next request race the server's close (ECONNRESET on a reused socket).
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 70_000;
  // A request that takes two minutes to arrive is holding a connection, not uploading a batch.
  server.requestTimeout = 120_000;
  server.maxConnections = o.maxConnections;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port, o.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    url: `https://${o.host}:${(server.address() as AddressInfo).port}`,
    trust: (pems) => server.setSecureContext({ ...identity, ca: pems }),
    close: () => closeServer(server),
  };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}
