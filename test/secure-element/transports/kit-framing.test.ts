import t from 'tap';
import { formatKitReply, parseKitReply, parseDeviceLine, formatDeviceLine, KitRequest, toHidReports, HidLineAssembler } from '../../../secure-element/transports/kit-framing.js';

t.test('request lines as cryptoauthlib writes them', async (t) => {
  t.equal(KitRequest.device(0), 'board:device(00)\n');
  t.equal(KitRequest.device(0x1f), 'board:device(1F)\n');
  t.equal(KitRequest.select(0xc0), 'E:physical:select(C0)\n');
  t.equal(KitRequest.wake(), 'E:w()\n');
  t.equal(KitRequest.talk(Uint8Array.of(0x07, 0x30, 0, 0, 0, 0x03, 0x5d)), 'E:t(0730000000035D)\n');
});

t.test('replies: format, parse, and malformed ones rejected', async (t) => {
  t.equal(formatKitReply(0, Uint8Array.of(0x04, 0x11, 0x33, 0x43)), '00(04113343)\n');
  t.equal(formatKitReply(0xe2), 'E2()\n');
  t.same(parseKitReply('00(04113343)'), { status: 0, data: Uint8Array.of(0x04, 0x11, 0x33, 0x43) });
  t.same(parseKitReply('f9()\r'), { status: 0xf9, data: new Uint8Array() });
  for (const bad of ['', '00', '0(00)', '00(0)', '00(ZZ)', 'ECC608 TWI 00(C0)', '00(04113343']) {
    t.throws(() => parseKitReply(bad), { code: 'KIT_PROTOCOL_ERROR' }, JSON.stringify(bad));
  }
});

t.test('device lines: kit host form, older firmware form, none', async (t) => {
  t.same(parseDeviceLine('ECC608 TWI 00(C0)'), { type: 'ECC608', iface: 'TWI', address: 0xc0 });
  t.same(parseDeviceLine('ECC608A TWI C0(C0)'), { type: 'ECC608A', iface: 'TWI', address: 0xc0 });
  t.same(parseDeviceLine('ECC608 TWI 00(1C3)'), { type: 'ECC608', iface: 'TWI', address: 0x1c3 }, 'wide addresses past 255');
  t.equal(parseDeviceLine('E0()'), null);
  t.equal(parseDeviceLine('C5()'), null, 'the reply of a kit with no device');
  t.equal(formatDeviceLine({ type: 'ECC608', iface: 'TWI', address: 0xc5 }), 'ECC608 TWI 00(C5)\n');
});

t.test('HID reports: report ID 0, 64 bytes of line, zero padding; reassembly across reports', async (t) => {
  const line = `E:t(${'AB'.repeat(64)})\n`; // 134 characters
  const reports = toHidReports(line);
  t.equal(reports.length, 3);
  t.ok(reports.every((r) => r.length === 65 && r[0] === 0));
  t.equal(Buffer.concat(reports.map((r) => r.subarray(1))).toString('latin1').replace(/\0+$/, ''), line);
  t.ok(reports[2]!.subarray(1 + (134 - 128)).every((b) => b === 0), 'tail zero-padded');

  const asm = new HidLineAssembler();
  const reply = `00(${'CD'.repeat(35)})\n`;
  const ins = toHidReports(reply).map((r) => r.subarray(1)); // input reports carry no report ID
  t.same(asm.push(ins[0]!), [], 'first report: no newline yet');
  t.same(asm.push(ins[1]!), [reply.trimEnd()]);
  t.same(asm.push(Buffer.from('00()\n01()\n')), ['00()', '01()'], 'two lines in one report');
  t.throws(() => asm.push(Buffer.alloc(3000, 0x41)), { code: 'KIT_PROTOCOL_ERROR' });
});
