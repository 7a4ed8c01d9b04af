import t from 'tap';
import { createBlankChip } from '../../../emulator/atecc608/factory.js';
import { KitServer } from '../../../emulator/kit/kit-server.js';
import { listenKitTcp, type KitTcpListener } from '../../../emulator/kit/tcp.js';
import { KitTcpTransport, openKitTcpDevices, connectKit } from '../../../secure-element/transports/kit-tcp.js';
import { AteccDevice } from '../../../secure-element/device.js';
import { transportSuite } from '../transport.suite.js';

const listeners: KitTcpListener[] = [];
t.teardown(() => Promise.all(listeners.map((l) => l.close())));

async function serve(count: number, opts: Parameters<typeof createBlankChip>[0] = {}) {
  const chips = Array.from({ length: count }, () => createBlankChip(opts));
  const l = await listenKitTcp(new KitServer({ chips }));
  listeners.push(l);
  return { chips, l };
}

t.test('transport suite: kit over TCP', async (t) => {
  transportSuite(t, async () => {
    const { l } = await serve(1);
    return KitTcpTransport.open(l.host, l.port);
  });
});

t.test('openKitTcpDevices discovers N chips, one connection and one serial each', async (t) => {
  const { chips, l } = await serve(12);
  const devs = await openKitTcpDevices(l.host, l.port);
  t.teardown(() => Promise.all(devs.map((d) => d.device.close())));
  t.equal(devs.length, 12, 'more than cryptoauthlib\'s 8-device scan');
  t.same(devs.map((d) => d.index), [...Array(12).keys()]);
  t.equal(new Set(devs.map((d) => d.address)).size, 12, 'distinct addresses');
  t.equal(devs[0]!.address, 0xc0, 'chip 0 at the factory address C0');
  t.same(devs.map((d) => d.serial), chips.map((c) => Buffer.from(c.serialNumber).toString('hex')), 'each connection drives its own chip');
  // Parallel workers: every device at once.
  const revs = await Promise.all(devs.map((d) => d.device.info()));
  t.ok(revs.every((r) => r[2] === 0x60));
});

t.test('selecting an unknown index or address is KIT_DEVICE_NOT_FOUND', async (t) => {
  const { l } = await serve(2);
  await t.rejects(KitTcpTransport.open(l.host, l.port, { index: 5 }), { code: 'KIT_DEVICE_NOT_FOUND' });
  await t.rejects(KitTcpTransport.open(l.host, l.port, { address: 0x10 }), { code: 'KIT_DEVICE_NOT_FOUND' });
});

t.test('an unreachable endpoint is ATCA_COMM_ERROR', async (t) => {
  const { l } = await serve(1);
  const port = l.port;
  await l.close();
  await t.rejects(connectKit('127.0.0.1', port), { code: 'ATCA_COMM_ERROR' });
});

t.test('the driver retries CRC faults over the kit link too', async (t) => {
  let n = 0;
  // Fault on every 3rd draw sequence: deterministic rng cycling through low and high values.
  const seq = [0.0, 0.9, 0.9, 0.9, 0.9, 0.9];
  const { l } = await serve(1, { faults: { crcErrorRate: 0.3, rng: () => seq[n++ % seq.length]! } });
  const dev = new AteccDevice(await KitTcpTransport.open(l.host, l.port));
  t.teardown(() => dev.close());
  for (let i = 0; i < 5; i++) t.equal((await dev.info()).length, 4);
});
