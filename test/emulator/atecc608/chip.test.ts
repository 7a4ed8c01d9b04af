import t from 'tap';
import { createBlankChip } from '../../../emulator/atecc608/factory.js';
import { crcBytes } from '../../../secure-element/crc.js';
import { decodeResponse, encodeCommand, statusResponse } from '../../../secure-element/packet.js';
import { awakeBlank, run, st } from './helpers.js';

t.test('wake answers 04 11 33 43, then commands answer normally', async (t) => {
  const chip = createBlankChip({ now: () => 0 });
  t.same([...chip.wake()!], [0x04, 0x11, 0x33, 0x43]);
  const r = run(chip, 0x30, 0x00, 0);
  t.same([...r.data], [0x00, 0x00, 0x60, 0x02]);
  t.equal(r.status, undefined, 'Info is a 7-byte data answer, not a status');
});

t.test('asleep or idle chip does not answer; wake brings it back', async (t) => {
  const chip = createBlankChip({ now: () => 0 });
  const frame = encodeCommand({ opcode: 0x30, param1: 0, param2: 0, data: new Uint8Array() });
  t.equal(chip.execute(frame).response, null, 'no response before wake');
  chip.wake();
  t.not(chip.execute(frame).response, null);
  chip.idle();
  t.equal(chip.execute(frame).response, null, 'no response while idle');
  chip.wake();
  chip.sleep();
  t.equal(chip.execute(frame).response, null, 'no response while asleep');
});

t.test('idle keeps TempKey, sleep clears it', async (t) => {
  const { chip } = await import('./helpers.js').then((h) => h.lockedChipWithKey());
  run(chip, 0x16, 0x03, 0, new Uint8Array(32).fill(7));
  chip.idle();
  chip.wake();
  t.equal(run(chip, 0x41, 0x80, 0).data.length, 64, 'Sign works after idle');
  run(chip, 0x16, 0x03, 0, new Uint8Array(32).fill(7));
  chip.sleep();
  chip.wake();
  t.equal(st(chip, 0x41, 0x80, 0), 0x0f, 'Sign refused after sleep: TempKey lost');
});

t.test('the watchdog puts the chip to sleep after 1.3 s and clears TempKey', async (t) => {
  let now = 1000;
  const { chip } = await import('./helpers.js').then((h) => h.lockedChipWithKey({ now: () => now }));
  chip.sleep();
  chip.wake();
  run(chip, 0x16, 0x03, 0, new Uint8Array(32).fill(1));
  now += 1299;
  t.ok(chip.awake, 'still awake at 1.299 s');
  now += 1;
  t.notOk(chip.awake, 'asleep at 1.3 s');
  const frame = encodeCommand({ opcode: 0x41, param1: 0x80, param2: 0, data: new Uint8Array() });
  t.equal(chip.execute(frame).response, null);
  chip.wake();
  t.equal(st(chip, 0x41, 0x80, 0), 0x0f, 'TempKey was lost with the watchdog sleep');
});

t.test('with timing on, execMs is the 608 table value and 0xEE when the watchdog would expire', async (t) => {
  let now = 0;
  const chip = createBlankChip({ timing: true, now: () => now });
  chip.wake();
  const frame = encodeCommand({ opcode: 0x1b, param1: 0, param2: 0, data: new Uint8Array() });
  t.equal(chip.execute(frame).execMs, 23, 'Random: 23 ms');
  const sign = encodeCommand({ opcode: 0x41, param1: 0x80, param2: 0, data: new Uint8Array() });
  t.equal(chip.execute(sign).execMs, 115, 'Sign: 115 ms (M0)');
  now = 1250;
  const r = chip.execute(sign);
  t.same([...r.response!], [...statusResponse(0xee)], 'not enough watchdog time left');
  const off = createBlankChip({ now: () => 0 });
  off.wake();
  t.equal(off.execute(sign).execMs, 0, 'timing off: 0');
});

t.test('malformed frames get a status, never a throw', async (t) => {
  const chip = awakeBlank();
  const good = encodeCommand({ opcode: 0x30, param1: 0, param2: 0, data: new Uint8Array() });
  const badCrc = good.slice();
  badCrc[6]! ^= 1;
  t.equal(decodeResponse(chip.execute(badCrc).response!).status, 0xff, 'bad CRC: 0xFF');
  t.equal(decodeResponse(chip.execute(good.subarray(0, 5)).response!).status, 0xff, 'truncated (count mismatch): 0xFF');
  t.equal(decodeResponse(chip.execute(new Uint8Array()).response!).status, 0xff, 'empty frame');
  const short = Uint8Array.of(5, 0x30, 0, 0, 0);
  const [lo, hi] = crcBytes(short, 0, 3);
  short[3] = lo;
  short[4] = hi;
  t.equal(decodeResponse(chip.execute(short).response!).status, 0x03, 'count < 7: parse error');
  t.equal(decodeResponse(chip.execute(new Uint8Array(200).fill(200)).response!).status, 0xff, 'oversized');
  for (let i = 0; i < 300; i++) {
    const junk = new Uint8Array(7 + (i % 40)).map(() => (Math.random() * 256) | 0);
    junk[0] = junk.length;
    const r = chip.execute(junk).response!;
    t.ok(r.length >= 4, 'answered');
  }
});

t.test('unknown opcodes answer parse error (Pause 0x01 and HMAC 0x11 are not 608 commands)', async (t) => {
  const chip = awakeBlank();
  for (const op of [0x00, 0x01, 0x11, 0x99, 0xff]) t.equal(st(chip, op, 0, 0), 0x03, `opcode 0x${op.toString(16)}`);
  // Every 608 opcode is modelled (issue 14): DeriveKey with no MAC is well formed, refused on a blank part.
  t.equal(st(chip, 0x1c, 0, 0), 0x0f, 'DeriveKey');
});

t.test('bad parameters and lengths answer parse error', async (t) => {
  const chip = awakeBlank();
  t.equal(st(chip, 0x30, 0x07, 0), 0x03, 'Info unknown mode');
  t.equal(st(chip, 0x30, 0x00, 0, [1]), 0x03, 'Info with data');
  t.equal(st(chip, 0x1b, 0x02, 0), 0x03, 'Random bad mode');
  t.equal(st(chip, 0x02, 0x03, 0), 0x03, 'Read zone 3');
  t.equal(st(chip, 0x16, 0x00, 0, new Uint8Array(19)), 0x03, 'Nonce random with 19 bytes');
  t.equal(st(chip, 0x16, 0x03, 0, new Uint8Array(31)), 0x03, 'Nonce pass-through with 31 bytes');
  t.equal(st(chip, 0x16, 0x02, 0, new Uint8Array(20)), 0x03, 'Nonce mode 2');
  t.equal(st(chip, 0x24, 0x02, 0), 0x03, 'Counter mode 2');
  t.equal(st(chip, 0x24, 0x00, 2), 0x03, 'Counter id 2');
  t.equal(st(chip, 0x41, 0x80, 16), 0x03, 'Sign slot 16');
  t.equal(st(chip, 0x40, 0x04, 16), 0x03, 'GenKey slot 16');
  t.equal(st(chip, 0x17, 0x03, 0), 0x03, 'Lock mode 3');
  t.equal(st(chip, 0x77, 0xc0, 0), 0x03, 'SelfTest reserved mode bits 6-7');
});

t.test('ChipMode selects the long watchdog and the clock divider of the timing table', async (t) => {
  let now = 0;
  const chip = createBlankChip({ timing: true, now: () => now });
  chip.state.config[19] = 0x04 | (0x05 << 3); // long watchdog, M1 divider
  chip.wake();
  const sign = encodeCommand({ opcode: 0x41, param1: 0x80, param2: 0, data: new Uint8Array() });
  t.equal(chip.execute(sign).execMs, 220, 'Sign at M1: 220 ms');
  now = 5000;
  t.ok(chip.awake, 'still awake at 5 s with the ~13 s watchdog');
  now = 13_000;
  t.notOk(chip.awake, 'asleep at 13 s');
  chip.state.config[19] = 0x0d << 3; // M2
  chip.wake();
  t.equal(chip.execute(sign).execMs, 665, 'Sign at M2: 665 ms');
});
