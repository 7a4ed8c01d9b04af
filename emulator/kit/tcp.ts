/**
 * The kit server on a TCP port, with TCP_NODELAY: every request and reply is one short line, and
 * Nagle's algorithm would stall each round trip (measured ~40 ms per exchange without it).
 */
import { createServer, type AddressInfo, type Server } from 'node:net';
import type { KitServer } from './kit-server.js';

/** A listening kit endpoint. */
export interface KitTcpListener {
  host: string;
  port: number;
  /** Stops accepting, ends open connections, resolves when the port is released. */
  close(): Promise<void>;
}

/** Listens on `host:port` (port 0 picks a free one) and hands each connection to `kit`. */
export async function listenKitTcp(kit: KitServer, opts: { host?: string; port?: number } = {}): Promise<KitTcpListener> {
  const host = opts.host ?? '127.0.0.1';
  const server: Server = createServer({ noDelay: true }, (socket) => {
    socket.setNoDelay(true);
    kit.handle(socket);
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
        kit.close();
      }),
  };
}
