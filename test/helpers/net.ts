/**
 * Loopback ports for tests that start their own listeners (Mosquitto, child servers).
 */
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';

/** A TCP port on 127.0.0.1 that was free a moment ago. */
export async function freePort(): Promise<number> {
  const s = createServer().listen(0, '127.0.0.1');
  await new Promise((r) => s.once('listening', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/**
 * A TCP relay on 127.0.0.1 in front of `target`, whose client connections the test can cut (as a
 * pulled cable would): every live connection is kept in `live`. Closed at the test's end.
 */
export async function startCuttableRelay(t: { teardown(fn: () => unknown): void }, target: { host: string; port: number }, live: Set<Socket>): Promise<{ host: string; port: number }> {
  const relay = createServer((c) => {
    const up = connect(target.port, target.host);
    live.add(c);
    c.pipe(up).pipe(c);
    c.on('close', () => { live.delete(c); up.destroy(); });
    up.on('close', () => c.destroy());
    c.on('error', () => undefined);
    up.on('error', () => undefined);
  });
  await new Promise<void>((r) => relay.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => relay.close(() => r())));
  return { host: '127.0.0.1', port: (relay.address() as AddressInfo).port };
}
