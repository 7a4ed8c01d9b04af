/**
 * Connection floods against the two HTTP listeners (issue 11, "floods"): past
 * server.maxConnections a new connection is closed at once while the open ones keep working,
 * and on the public listener a client that dribbles its headers is cut off.
 */
import { connect, type Socket } from 'node:net';
import t from 'tap';
import { makeDevPki } from '../helpers/pki.js';
import { clientFor, startTestServer } from '../helpers/server.js';

const pki = await makeDevPki(t);
const server = await startTestServer(t, pki, { KEYLINE_SERVER_MAX_CONNECTIONS: '4' });
const portOf = (url: string) => Number(new URL(url).port);

/** Opens a TCP connection and resolves once it is established (or rejects). */
const open = (port: number) => new Promise<Socket>((resolve, reject) => {
  const s = connect(port, '127.0.0.1', () => resolve(s));
  s.on('error', reject);
});
/** Resolves with the milliseconds until the peer closes `s`, or null after `ms`. */
const closedWithin = (s: Socket, ms: number) => new Promise<number | null>((resolve) => {
  const t0 = Date.now();
  const timer = setTimeout(() => resolve(null), ms);
  s.once('close', () => { clearTimeout(timer); resolve(Date.now() - t0); });
  s.resume();
});

for (const [name, url] of [['public', server.publicUrl], ['API', server.apiUrl]] as const) {
  t.test(`${name} listener: the connection past the cap is closed, the others are served`, async (t) => {
    const held = await Promise.all(Array.from({ length: 4 }, () => open(portOf(url))));
    t.teardown(() => held.forEach((s) => s.destroy()));
    const extra = await open(portOf(url));
    t.not(await closedWithin(extra, 2000), null, 'closed at once');
    if (name === 'public') {
      // A connection within the cap is still served.
      const answer = new Promise<string>((resolve) => held[0]!.once('data', (b: Buffer) => resolve(b.toString('latin1'))));
      held[0]!.write('GET /crl/issuing.crl HTTP/1.1\r\nHost: x\r\n\r\n');
      t.match(await answer, /^HTTP\/1\.1 200/);
    }
    for (const s of held) s.destroy();
    await new Promise((r) => setTimeout(r, 100));
    // Capacity comes back once the floods' connections go.
    const r = await fetch(`${server.publicUrl}/crl/issuing.crl`);
    t.equal(r.status, 200);
  });
}

t.test('public listener: headers dribbled for longer than 10 s are cut off', { timeout: 30_000 }, async (t) => {
  const s = await open(portOf(server.publicUrl));
  t.teardown(() => s.destroy());
  s.write('GET /crl/issuing.crl HTTP/1.1\r\nHost: x\r\n');
  const drip = setInterval(() => s.write('X-Slow: 1\r\n'), 1000);
  t.teardown(() => clearInterval(drip));
  const after = await closedWithin(s, 20_000);
  t.ok(after !== null && after < 16_000, `closed after ${after} ms`);
});

t.test('the API still answers', async (t) => {
  t.equal((await clientFor(t, pki, server.apiUrl).raw('GET', '/health')).status, 200);
});
