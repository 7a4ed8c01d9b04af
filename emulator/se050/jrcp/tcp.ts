/**
 * A JRCP server on a TCP port (emulator/tcp-listener.ts: TCP_NODELAY, one stream per connection).
 */
import { listenTcp, type TcpListener } from '../../tcp-listener.js';
import type { JrcpServer } from './jrcp-server.js';

/** A listening JRCP endpoint. */
export type JrcpTcpListener = TcpListener;

/** Listens on `host:port` (port 0 picks a free one) and hands each connection to `jrcp`. */
export function listenJrcpTcp(jrcp: JrcpServer, opts: { host?: string; port?: number } = {}): Promise<JrcpTcpListener> {
  return listenTcp(jrcp, opts);
}
