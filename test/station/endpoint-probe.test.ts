/**
 * Issue 15: an `--emulator` endpoint says which chip it serves: the kit server (ATECC608) and a
 * JRCP v1 server (SE050) each answer the one probe at once and differently; an endpoint speaking
 * neither is a typed error, not a hang.
 */
import { createServer } from 'node:net';
import t from 'tap';
import { KitServer } from '../../emulator/kit/kit-server.js';
import { listenKitTcp } from '../../emulator/kit/tcp.js';
import { JrcpServer } from '../../emulator/se050/jrcp/jrcp-server.js';
import { listenJrcpTcp } from '../../emulator/se050/jrcp/tcp.js';
import { chipOfProbeAnswer, ENDPOINT_PROBE, probeEndpoint } from '../../station/endpoint-probe.js';
import { blankChips } from './harness.js';
import { se050Chips } from './se050-harness.js';

t.test('the probe bytes: one JRCP TERMINAL_INFO message, two kit lines', async (t) => {
  t.equal(Buffer.from(ENDPOINT_PROBE.subarray(0, 4)).toString('hex'), '04000011');
  t.equal(Buffer.from(ENDPOINT_PROBE.subarray(4)).toString('latin1'), '\nboard:version()\n');
  t.equal(chipOfProbeAnswer(0x04), 'se050');
  t.equal(chipOfProbeAnswer('0'.charCodeAt(0)), 'atecc608');
  t.equal(chipOfProbeAnswer(0xff), null);
});

t.test('kit server → atecc608, JRCP server → se050, and both still serve afterwards', async (t) => {
  const kit = await listenKitTcp(new KitServer({ chips: blankChips(1), honourTiming: false }), { port: 0 });
  t.teardown(() => kit.close());
  const [card] = await se050Chips(1);
  const jrcp = await listenJrcpTcp(new JrcpServer({ chip: card!, honourTiming: false }), { port: 0 });
  t.teardown(() => jrcp.close());
  t.equal(await probeEndpoint({ host: kit.host, port: kit.port }), 'atecc608');
  t.equal(await probeEndpoint({ host: jrcp.host, port: jrcp.port }), 'se050');
  t.equal(await probeEndpoint({ host: jrcp.host, port: jrcp.port }), 'se050', 'a second probe of the same card');
});

t.test('neither protocol: ENDPOINT_PROTOCOL_UNKNOWN (silence, binary, nobody listening)', async (t) => {
  // Both read what comes (a socket nobody reads never sees the peer's FIN, and never closes).
  const silent = createServer((s) => s.resume());
  const binary = createServer((s) => s.resume().end(Buffer.of(0xff, 0x00)));
  for (const s of [silent, binary]) {
    await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
    t.teardown(() => new Promise<void>((r) => s.close(() => r())));
  }
  const port = (s: ReturnType<typeof createServer>) => (s.address() as { port: number }).port;
  await t.rejects(probeEndpoint({ host: '127.0.0.1', port: port(silent) }, { timeoutMs: 200 }), { code: 'ENDPOINT_PROTOCOL_UNKNOWN', message: /within 200 ms/ });
  await t.rejects(probeEndpoint({ host: '127.0.0.1', port: port(binary) }), { code: 'ENDPOINT_PROTOCOL_UNKNOWN', message: /answered 0xff/ });
  const gone = createServer();
  await new Promise<void>((r) => gone.listen(0, '127.0.0.1', r));
  const p = port(gone);
  await new Promise<void>((r) => gone.close(() => r()));
  await t.rejects(probeEndpoint({ host: '127.0.0.1', port: p }), { code: 'ENDPOINT_PROTOCOL_UNKNOWN', message: /cannot reach/ });
});
