/**
 * The tls-unique channel binding (RFC 5929 §3.1): the first Finished message of the connection's
 * latest handshake: the client's in a full handshake, the server's in a resumed one. Defined for
 * TLS 1.2 and earlier only (RFC 8446 §C.5 drops it), so under TLS 1.3 there is none.
 */
import type { TLSSocket } from 'node:tls';

/** The connection's tls-unique value, base64 as RFC 7030 §3.5 puts it in challengePassword; null when TLS 1.2 does not give one. */
export function tlsUniqueOf(socket: TLSSocket): string | null {
  if (typeof socket.getProtocol !== 'function' || socket.getProtocol() !== 'TLSv1.2') return null;
  const finished = socket.isSessionReused() ? socket.getFinished() : socket.getPeerFinished();
  return finished ? finished.toString('base64') : null;
}
