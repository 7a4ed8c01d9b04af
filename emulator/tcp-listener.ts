/**
 * Any stream server (the kit server, a JRCP server) on a TCP port, with TCP_NODELAY: every
 * request and reply is short, and Nagle's algorithm would stall each round trip (measured ~40 ms
 * per exchange without it).
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { Duplex } from 'node:stream';

/** What can serve connections: one stream each, and end them all. */
export interface StreamServer {
  handle(stream: Duplex): void;
  close(): void;
}

/** A listening endpoint. */
export interface TcpListener {
  host: string;
  port: number;
  /** Stops accepting, ends open connections, resolves when the port is released. */
  close(): Promise<void>;
}

/** Listens on `host:port` (port 0 picks a free one) and hands each connection to `server`. */
export async function listenTcp(target: StreamServer, opts: { host?: string; port?: number } = {}): Promise<TcpListener> {
  const host = opts.host ?? '127.0.0.1';
  const server: Server = createServer({ noDelay: true }, (socket) => {
    socket.setNoDelay(true);
    target.handle(socket);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  return {
    host,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        target.close();
      }),
  };
}
