import t from 'tap';
import { createBlankChip } from '../../../emulator/atecc608/factory.js';
import { KitServer } from '../../../emulator/kit/kit-server.js';
import { HidLineLink, KitHidTransport, listKitHid, KIT_HID_IDS, type HidDeviceLike, type HidModule } from '../../../secure-element/transports/kit-hid.js';
import { encodeResponse } from '../../../secure-element/packet.js';
import { AteccDevice, Zone } from '../../../secure-element/device.js';
import { transportSuite } from '../transport.suite.js';
import { FakeHidKit } from './fake-hid-kit.js';
import { TEST_CONFIG } from '../fixtures.js';

t.test('transport suite: kit over HID (fake kit device)', async (t) => {
  const kits: FakeHidKit[] = [];
  transportSuite(t, async () => {
    const kit = new FakeHidKit(new KitServer({ chips: [createBlankChip()] }));
    kits.push(kit);
    return KitHidTransport.over(kit);
  });
  t.test('every output report was framed as hal_kit_hid frames it', async (t) => {
    t.ok(kits.length > 0);
    t.same(kits.flatMap((k) => k.violations), []);
  });
});

/** A scripted kit: answers each expected request line with canned input reports. */
class ScriptedKit implements HidDeviceLike {
  readonly writes: Buffer[] = [];
  #pending: Buffer[] = [];
  #line = '';
  constructor(private readonly script: { expect: string; reply: Buffer[] }[]) {}
  async write(values: number[] | Buffer): Promise<number> {
    const r = Buffer.from(values);
    this.writes.push(r);
    this.#line += r.subarray(1).toString('latin1').replace(/\0+$/, '');
    if (this.#line.endsWith('\n')) {
      const step = this.script.shift();
      if (!step || step.expect !== this.#line) throw new Error(`unexpected request ${JSON.stringify(this.#line)}`);
      this.#pending.push(...step.reply);
      this.#line = '';
    }
    return r.length;
  }
  async read(): Promise<Buffer | undefined> {
    return this.#pending.shift();
  }
  async close(): Promise<void> {}
}

/** A reply line cut into 64-byte zero-padded input reports, as the kit sends it. */
function reports(line: string): Buffer[] {
  const b = Buffer.from(line, 'latin1');
  const out: Buffer[] = [];
  for (let p = 0; p < b.length; p += 64) {
    const r = Buffer.alloc(64);
    b.copy(r, 0, p, Math.min(p + 64, b.length));
    out.push(r);
  }
  return out;
}

t.test('a documented exchange: discovery, select, wake, 32-byte Read spanning two reports, idle', async (t) => {
  const block0 = TEST_CONFIG.subarray(0, 32);
  const rsp = Buffer.from(encodeResponse(block0)).toString('hex').toUpperCase();
  const readReply = `00(${rsp})\n`;
  t.equal(readReply.length, 75, '35-byte packet: 70 hex digits + wrapper');
  const kit = new ScriptedKit([
    { expect: 'board:device(00)\n', reply: reports('ECC608A TWI C0(C0)\n') }, // older kit firmware's form
    { expect: 'E:physical:select(C0)\n', reply: reports('00()\n') },
    { expect: 'E:w()\n', reply: reports('00(04113343)\n') },
    { expect: 'E:t(070280000009AD)\n', reply: reports(readReply) },
    { expect: 'E:i()\n', reply: reports('00()\n') },
  ]);
  const dev = new AteccDevice(await KitHidTransport.over(kit, { address: undefined }));
  // discover(8) asks board:device(01) next only if 00 is not an ECC device: here it is.
  t.same([...(await dev.read(Zone.CONFIG, 0, 0, 0, 32))], [...block0]);
  t.ok(kit.writes.every((w) => w.length === 65 && w[0] === 0), '65-byte writes, report ID 0');
  t.equal(kit.writes.length, 5, 'each short line fits one report');
});

t.test('a long request line is cut across reports and a reply split mid-line is reassembled', async (t) => {
  const data = new Uint8Array(64).fill(0xab);
  const link = new HidLineLink(
    new (class implements HidDeviceLike {
      writes: Buffer[] = [];
      queue: Buffer[] = [];
      async write(v: number[] | Buffer) {
        const r = Buffer.from(v);
        this.writes.push(r);
        if (r.includes(0x0a)) this.queue.push(...reports(`00(${'A'.repeat(60)}`), ...reports(`${'B'.repeat(10)})\n`));
        return r.length;
      }
      async read() {
        return this.queue.shift();
      }
      async close() {}
    })(),
  );
  const line = `E:t(${Buffer.from(data).toString('hex').toUpperCase()})\n`; // 134 characters
  const reply = await link.request(line, 1000);
  t.equal(line.length, 134);
  t.equal(reply, `00(${'A'.repeat(60)}${'B'.repeat(10)})`, 'zero padding dropped, pieces joined');
});

t.test('no reply within the timeout is ATCA_TIMEOUT', async (t) => {
  const link = new HidLineLink({ write: async (v) => Buffer.from(v).length, read: async () => undefined, close: async () => {} });
  await t.rejects(link.request('E:w()\n', 50), { code: 'ATCA_TIMEOUT' });
});

t.test('enumeration keeps only Microchip kits with a known PID', async (t) => {
  t.same(KIT_HID_IDS.map((k) => [k.vid, k.pid]), [[0x03eb, 0x2312]]);
  const hid: HidModule = {
    devicesAsync: async () => [
      { vendorId: 0x03eb, productId: 0x2312, path: '/dev/hidraw3', product: 'CryptoAuth' },
      { vendorId: 0x03eb, productId: 0x2404, path: '/dev/hidraw4' },
      { vendorId: 0x046d, productId: 0xc52b, path: '/dev/hidraw0' },
    ],
    HIDAsync: { open: async () => new FakeHidKit(new KitServer({ chips: [createBlankChip()] })) },
  };
  t.same((await listKitHid(hid)).map((d) => d.path), ['/dev/hidraw3']);
  const tr = await KitHidTransport.open({ hid });
  t.equal(tr.address, 0xc0);
  t.equal((await new AteccDevice(tr).info())[2], 0x60);
  await tr.close();
  const none: HidModule = { devicesAsync: async () => [], HIDAsync: hid.HIDAsync };
  await t.rejects(KitHidTransport.open({ hid: none }), { code: 'KIT_DEVICE_NOT_FOUND' });
});
