/**
 * The kit server on a TCP port (emulator/tcp-listener.ts: TCP_NODELAY, one stream per connection).
 */
import { listenTcp, type TcpListener } from '../tcp-listener.js';
import type { KitServer } from './kit-server.js';

/** A listening kit endpoint. */
export type KitTcpListener = TcpListener;

/** Listens on `host:port` (port 0 picks a free one) and hands each connection to `kit`. */
export function listenKitTcp(kit: KitServer, opts: { host?: string; port?: number } = {}): Promise<KitTcpListener> {
  return listenTcp(kit, opts);
}
