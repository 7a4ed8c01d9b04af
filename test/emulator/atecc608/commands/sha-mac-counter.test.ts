import { createHash, createHmac } from 'node:crypto';
import t from 'tap';
import { COUNTER_MAX } from '../../../../emulator/atecc608/state.js';
import { decodeCounter, encodeCounter } from '../../../../emulator/atecc608/counter-encoding.js';
import { awakeBlank, configLockedChip, run, st } from '../helpers.js';

const SHA = 0x47;

t.test('SHA start/update/end matches node SHA-256', async (t) => {
  const chip = awakeBlank();
  const msg = Buffer.alloc(64 * 3 + 17, 0x61);
  t.equal(st(chip, SHA, 0x00, 0), 0x00);
  for (let i = 0; i < 3; i++) t.equal(st(chip, SHA, 0x01, 64, msg.subarray(i * 64, i * 64 + 64)), 0x00);
  const tail = msg.subarray(192);
  const digest = run(chip, SHA, 0x02, tail.length, tail).data;
  t.same([...digest], [...createHash('sha256').update(msg).digest()]);
  t.same([...chip.state.tempKey.value.subarray(0, 32)], [...digest], 'also in TempKey');
  t.equal(st(chip, SHA, 0x01, 64, new Uint8Array(64)), 0x0f, 'update without start');
  t.equal(st(chip, SHA, 0x02, 0), 0x0f, 'end without start');
  run(chip, SHA, 0x00, 0);
  t.equal(st(chip, SHA, 0x01, 32, new Uint8Array(32)), 0x00, 'a partial update is buffered (issue 14)');
  t.equal(st(chip, SHA, 0x01, 65, new Uint8Array(65)), 0x03, 'at most 64 bytes per update');
  t.equal(st(chip, SHA, 0x02, 5, new Uint8Array(4)), 0x03, 'length mismatch');
  run(chip, SHA, 0x00, 0);
  t.same([...run(chip, SHA, 0xc2, 0).data], [...createHash('sha256').digest()], 'output-only end of an empty message');
});

t.test('sleep loses the SHA context', async (t) => {
  const chip = awakeBlank();
  run(chip, SHA, 0x00, 0);
  chip.sleep();
  chip.wake();
  t.equal(st(chip, SHA, 0x02, 0), 0x0f);
});

t.test('HMAC with a slot key matches node HMAC', async (t) => {
  const chip = configLockedChip();
  const key = Buffer.alloc(32, 0x11);
  run(chip, 0x12, 0x82, 9 << 3, key);
  t.equal(st(chip, SHA, 0x04, 9), 0x00);
  const data = Buffer.from('hello hmac');
  const mac = run(chip, SHA, 0x02, data.length, data).data;
  t.same([...mac], [...createHmac('sha256', key).update(data).digest()]);
  t.equal(st(chip, SHA, 0x04, 0), 0x0f, 'private key slot refused');
});

t.test('Counter: read, increment, monotonic, limit 2,097,151', async (t) => {
  const chip = awakeBlank();
  const val = (b: Uint8Array) => Buffer.from(b).readUInt32LE(0);
  t.equal(val(run(chip, 0x24, 0x00, 0).data), 0);
  let last = 0;
  for (let i = 0; i < 10; i++) {
    const v = val(run(chip, 0x24, 0x01, 0).data);
    t.ok(v > last, 'strictly increasing');
    last = v;
  }
  t.equal(val(run(chip, 0x24, 0x00, 1).data), 0, 'counter 1 independent');
  chip.state.setCounter(0, COUNTER_MAX - 1);
  t.equal(val(run(chip, 0x24, 0x01, 0).data), COUNTER_MAX);
  t.equal(st(chip, 0x24, 0x01, 0), 0x0f, 'at the limit: execution error');
  t.equal(val(run(chip, 0x24, 0x00, 0).data), COUNTER_MAX, 'value stays at the maximum');
});

t.test('counters live in config bytes 52-67 in the chip encoding; presettable before config lock', async (t) => {
  const chip = awakeBlank();
  t.same([...run(chip, 0x02, 0x00, 13).data, ...run(chip, 0x02, 0x00, 14).data], [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0], 'zero encoding');
  for (let i = 0; i < 17; i++) run(chip, 0x24, 0x01, 0);
  // 17 = one bit gone past the first half-window: lin_a 0000, lin_b 7FFF, bin_a 0, bin_b 0.
  t.same([...run(chip, 0x02, 0x00, 13).data, ...run(chip, 0x02, 0x00, 14).data], [0x00, 0x00, 0x7f, 0xff, 0, 0, 0, 0]);
  const fresh = awakeBlank();
  // calib_write_config_counter(1, 100): lin_a FFFF>>4, lin_b FFFF>>20%32... written as 8 bytes at 60.
  const enc = encodeCounter(100);
  run(fresh, 0x12, 0x00, 15, enc.subarray(0, 4));
  run(fresh, 0x12, 0x00, 16, enc.subarray(4, 8));
  t.equal(Buffer.from(run(fresh, 0x24, 0x01, 1).data).readUInt32LE(0), 101, 'preset counter then increment');
});

t.test('counter encoding round-trips', async (t) => {
  for (const v of [0, 1, 15, 16, 17, 31, 32, 33, 47, 48, 1000, 65535, COUNTER_MAX - 1, COUNTER_MAX]) t.equal(decodeCounter(encodeCounter(v)), v, String(v));
  t.same([...encodeCounter(0)], [0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0]);
  for (let v = 0; v < 5000; v++) if (decodeCounter(encodeCounter(v)) !== v) t.fail(String(v));
});

t.test('GenDig, MAC and CheckMac agree with host-side recomputation', async (t) => {
  const chip = configLockedChip();
  const key = Buffer.alloc(32, 0x5a);
  run(chip, 0x12, 0x82, 9 << 3, key);
  run(chip, 0x17, 0x81, 0);
  const sn = chip.serialNumber;
  const challenge = Buffer.alloc(32, 0x33);
  const mac = run(chip, 0x08, 0x00, 9, challenge).data;
  const m = Buffer.alloc(88);
  key.copy(m, 0);
  challenge.copy(m, 32);
  m.set([0x08, 0x00, 9, 0], 64);
  m[79] = sn[8]!;
  m.set(sn.subarray(0, 2), 84);
  t.same([...mac], [...createHash('sha256').update(m).digest()], 'MAC');

  const other = Buffer.alloc(13, 0x01);
  const resp = Buffer.alloc(88);
  key.copy(resp, 0);
  challenge.copy(resp, 32);
  other.copy(resp, 64, 0, 4);
  other.copy(resp, 76, 4, 7);
  resp[79] = sn[8]!;
  other.copy(resp, 80, 7, 11);
  resp.set(sn.subarray(0, 2), 84);
  other.copy(resp, 86, 11, 13);
  const clientResp = createHash('sha256').update(resp).digest();
  t.equal(st(chip, 0x28, 0x00, 9, Buffer.concat([challenge, clientResp, other])), 0x00, 'CheckMac match');
  clientResp[0]! ^= 1;
  t.equal(st(chip, 0x28, 0x00, 9, Buffer.concat([challenge, clientResp, other])), 0x01, 'CheckMac miscompare');
  t.equal(st(chip, 0x28, 0x00, 9, challenge), 0x03, 'CheckMac short data');

  const nonce = Buffer.alloc(32, 0x77);
  run(chip, 0x16, 0x03, 0, nonce);
  t.equal(st(chip, 0x15, 0x02, 9), 0x00, 'GenDig over slot 9');
  const g = Buffer.alloc(96);
  key.copy(g, 0);
  g.set([0x15, 0x02, 9, 0, sn[8]!, sn[0]!, sn[1]!], 32);
  nonce.copy(g, 64);
  t.same([...chip.state.tempKey.value.subarray(0, 32)], [...createHash('sha256').update(g).digest()], 'GenDig TempKey');
  t.ok(chip.state.tempKey.genDigData);
  chip.sleep();
  chip.wake();
  t.equal(st(chip, 0x15, 0x02, 9), 0x0f, 'GenDig needs a valid TempKey');
  t.equal(st(chip, 0x08, 0x01, 9), 0x0f, 'MAC from TempKey needs a valid TempKey');
});

t.test('Info modes and SelfTest', async (t) => {
  const chip = awakeBlank();
  t.same([...run(chip, 0x30, 0x00, 0).data], [0, 0, 0x60, 0x02]);
  run(chip, 0x16, 0x03, 0, new Uint8Array(32));
  const state = run(chip, 0x30, 0x02, 0).data;
  t.equal(state.length, 4);
  t.equal(state[1]! & 0x80, 0x80, 'TempKey valid reported');
  t.equal(st(chip, 0x77, 0x3b, 0), 0x00, 'SelfTest all passes');
});
