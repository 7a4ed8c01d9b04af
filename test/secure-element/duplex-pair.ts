/** Two connected in-memory Duplex streams (node 20 has no stream.duplexPair yet), as aedes' test helper uses. */
import { Duplex, PassThrough } from 'node:stream';

/** Returns [a, b]: what a writes, b reads, and the reverse. */
export function duplexPair(): [Duplex, Duplex] {
  const ab = new PassThrough();
  const ba = new PassThrough();
  const a = Duplex.from({ readable: ba, writable: ab });
  const b = Duplex.from({ readable: ab, writable: ba });
  return [a, b];
}
