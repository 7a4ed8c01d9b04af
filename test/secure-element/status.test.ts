import t from 'tap';
import { statusError, isRetryable, notExecuted, Status } from '../../secure-element/status.js';
import { execTimeMs, clockDividerOf } from '../../secure-element/exec-times.js';
import { Opcode } from '../../secure-element/opcodes.js';
import { chunks, zoneAddress, Zone, slotSize } from '../../secure-element/zone-address.js';

t.test('every datasheet status byte maps to its code and keeps the byte', async (t) => {
  const table: [number, string][] = [
    [0x01, 'ATCA_MISCOMPARE'],
    [0x03, 'ATCA_PARSE_ERROR'],
    [0x05, 'ATCA_ECC_FAULT'],
    [0x07, 'ATCA_SELFTEST_ERROR'],
    [0x08, 'ATCA_HEALTH_TEST_ERROR'],
    [0x0f, 'ATCA_EXECUTION_ERROR'],
    [0x11, 'ATCA_COMM_ERROR'],
    [0xee, 'ATCA_WATCHDOG'],
    [0xff, 'ATCA_CRC_ERROR'],
    [0x42, 'ATCA_BAD_RESPONSE'],
  ];
  for (const [status, code] of table) {
    const e = statusError(status, 'Sign slot 0');
    t.match(e, { code, status }, `0x${status.toString(16)} -> ${code}`);
    t.match(e?.message, /^Sign slot 0: /, 'message names the command');
  }
  t.equal(statusError(Status.SUCCESS, 'x'), null);
});

t.test('retry classification', async (t) => {
  t.ok(isRetryable(statusError(0xff, 'x')));
  t.ok(isRetryable(statusError(0xee, 'x')));
  t.notOk(isRetryable(statusError(0x0f, 'x')), 'a refused command is not retried');
  t.notOk(isRetryable(statusError(0x03, 'x')));
  t.ok(notExecuted(statusError(0xff, 'x')), 'the chip saw a bad frame: nothing ran');
  t.notOk(notExecuted(new Error('x')));
});

t.test('608 execution times from cryptoauthlib, per clock divider', async (t) => {
  t.equal(execTimeMs(Opcode.SIGN), 115);
  t.equal(execTimeMs(Opcode.GENKEY), 115);
  t.equal(execTimeMs(Opcode.READ), 5);
  t.equal(execTimeMs(Opcode.SELFTEST), 250);
  t.equal(execTimeMs(Opcode.SIGN, 'M2'), 665);
  t.equal(execTimeMs(0x99), 250, 'unknown opcode: the longest M0 time');
  t.equal(clockDividerOf(0x28), 'M1');
  t.equal(clockDividerOf(0x6c), 'M2');
  t.equal(clockDividerOf(0x00), 'M0');
});

t.test('zone addressing as the datasheet encodes it', async (t) => {
  t.equal(zoneAddress(Zone.CONFIG, 0, 2, 5, 4), 0x15, 'config word 21');
  t.equal(zoneAddress(Zone.DATA, 8, 12, 0, 32), (12 << 8) | (8 << 3));
  t.equal(zoneAddress(Zone.DATA, 10, 2, 1, 4), (2 << 8) | (10 << 3) | 1);
  t.throws(() => zoneAddress(Zone.DATA, 0, 1, 0, 32), { code: 'ATCA_BAD_PARAM' });
  t.throws(() => zoneAddress(Zone.OTP, 0, 2, 0, 4), { code: 'ATCA_BAD_PARAM' });
  t.same([slotSize(0), slotSize(8), slotSize(15)], [36, 416, 72]);
  t.same(chunks(0, 72).map((c) => [c.block, c.offset, c.len]), [[0, 0, 32], [1, 0, 32], [2, 0, 4], [2, 1, 4]], 'cryptoauthlib split of a 72-byte slot');
  t.throws(() => chunks(2, 4), { code: 'ATCA_BAD_PARAM' });
});
