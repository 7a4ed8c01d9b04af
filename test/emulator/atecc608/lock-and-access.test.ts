import t from 'tap';
import { configZoneCrc } from '../../../secure-element/provisioning-config.js';
import { dataSummaryCrc } from '../../../emulator/atecc608/commands/lock.js';
import { awakeBlank, configLockedChip, lockedChipWithKey, run, st, writeProvisioningConfig } from './helpers.js';

const READ = 0x02;
const WRITE = 0x12;
const LOCK = 0x17;
const dataAddr = (slot: number, block = 0, word = 0) => (block << 8) | (slot << 3) | word;

t.test('config zone: readable, writable only in 16-83 and 88-127 before lock', async (t) => {
  const chip = awakeBlank();
  t.equal(run(chip, READ, 0x80, 0).data.length, 32, '32-byte config read');
  t.same([...run(chip, READ, 0x00, 1).data], [0x00, 0x00, 0x60, 0x02], '4-byte read of word 1 = revision');
  t.equal(st(chip, WRITE, 0x00, 0, [1, 2, 3, 4]), 0x0f, 'serial bytes 0-3 are read-only');
  t.equal(st(chip, WRITE, 0x00, 3, [1, 2, 3, 4]), 0x0f, 'bytes 12-15 are read-only');
  t.equal(st(chip, WRITE, 0x00, 21, [0, 0, 0, 0]), 0x0f, 'bytes 84-87 only via UpdateExtra/Lock');
  t.equal(st(chip, WRITE, 0x80, 2 << 3, new Uint8Array(32)), 0x0f, '32-byte write of block 2 covers 84-87');
  t.equal(st(chip, WRITE, 0x80, 0, new Uint8Array(32)), 0x0f, '32-byte write of block 0 covers the serial');
  t.equal(st(chip, WRITE, 0x00, 5, [0xaa, 0xbb, 0xcc, 0xdd]), 0x00, 'word 5 (bytes 20-23) writable');
  t.same([...run(chip, READ, 0x00, 5).data], [0xaa, 0xbb, 0xcc, 0xdd]);
  t.equal(st(chip, WRITE, 0x80, 3 << 3, new Uint8Array(32).fill(0x3c)), 0x00, '32-byte write of block 3');
  t.equal(st(chip, WRITE, 0x00, 5, [1, 2, 3]), 0x03, 'wrong length');
  t.equal(st(chip, READ, 0x80, 4 << 3), 0x03, 'config block 4 does not exist');
});

t.test('config lock: CRC checked, no-CRC mode, then config is frozen', async (t) => {
  const chip = awakeBlank();
  const cfg = writeProvisioningConfig(chip);
  t.same(run(chip, READ, 0x80, 0).data.slice(0, 16), cfg.subarray(0, 16));
  const crc = configZoneCrc(cfg);
  t.equal(st(chip, LOCK, 0x00, crc ^ 1), 0x0f, 'wrong CRC refused');
  t.equal(st(chip, 0x40, 0x04, 0), 0x0f, 'GenKey refused before config lock');
  t.equal(st(chip, 0x41, 0x80, 0), 0x0f, 'Sign refused before config lock');
  t.equal(st(chip, 0x43, 0x00, 0, new Uint8Array(64)), 0x0f, 'ECDH refused before config lock');
  t.equal(st(chip, WRITE, 0x02, dataAddr(8), [1, 2, 3, 4]), 0x0f, 'data writes refused before config lock');
  t.equal(st(chip, LOCK, 0x01, 0), 0x0f, 'data lock refused before config lock');
  t.equal(st(chip, LOCK, 0x00, crc), 0x00, 'right CRC locks');
  t.equal(run(chip, READ, 0x00, 21).data[3], 0x00, 'LockConfig byte 87 = 00');
  t.equal(st(chip, WRITE, 0x00, 5, [1, 2, 3, 4]), 0x0f, 'config writes refused after lock');
  t.equal(st(chip, LOCK, 0x00, crc), 0x0f, 'second lock refused');
  const other = awakeBlank();
  t.equal(st(other, LOCK, 0x80, 0x1234), 0x00, 'no-CRC mode ignores param2');
});

t.test('Random is FF FF 00 00 until config lock, random after', async (t) => {
  const chip = awakeBlank();
  const pattern = run(chip, 0x1b, 0, 0).data;
  t.same([...pattern.subarray(0, 8)], [0xff, 0xff, 0, 0, 0xff, 0xff, 0, 0]);
  t.equal(pattern.length, 32);
  const locked = configLockedChip();
  const a = run(locked, 0x1b, 0, 0).data;
  const b = run(locked, 0x1b, 0, 0).data;
  t.notSame([...a], [...b]);
  t.notSame([...a], [...pattern]);
});

t.test('data zone before data lock: 32-byte writes only, not readable; OTP likewise', async (t) => {
  const chip = configLockedChip();
  t.equal(st(chip, WRITE, 0x02, dataAddr(8), [1, 2, 3, 4]), 0x0f, '4-byte data write refused before data lock');
  t.equal(st(chip, WRITE, 0x82, dataAddr(8), new Uint8Array(32).fill(1)), 0x00);
  t.equal(st(chip, WRITE, 0x82, dataAddr(10, 0), new Uint8Array(32).fill(0xa5)), 0x00, '32-byte write slot 10 block 0');
  t.equal(st(chip, WRITE, 0x82, dataAddr(10, 2), new Uint8Array(32).fill(9)), 0x00, 'short block 2: 8 bytes kept');
  t.same([...chip.state.slots[10]!.subarray(64)], [9, 9, 9, 9, 9, 9, 9, 9]);
  t.equal(st(chip, WRITE, 0x82, dataAddr(10, 3), new Uint8Array(32)), 0x03, 'past the end of the 72-byte slot');
  t.equal(st(chip, WRITE, 0x02, dataAddr(10, 2, 2), [9, 9, 9, 9]), 0x03, '4-byte address past the end');
  t.equal(st(chip, READ, 0x02, dataAddr(8)), 0x0f, 'data read refused before data lock');
  t.equal(st(chip, WRITE, 0x01, 0, [1, 2, 3, 4]), 0x0f, 'OTP 4-byte write refused before data lock');
  t.equal(st(chip, WRITE, 0x81, 0, new Uint8Array(32).fill(3)), 0x00, 'OTP 32-byte write');
  t.equal(st(chip, READ, 0x01, 0), 0x0f, 'OTP read refused before data lock');
  t.equal(st(chip, WRITE, 0x02, dataAddr(0), [1, 2, 3, 4]), 0x0f, 'Write never reaches a private key slot');
});

t.test('data lock: CRC over non-private slots then OTP; afterwards OTP is read-only', async (t) => {
  const chip = configLockedChip();
  run(chip, WRITE, 0x82, dataAddr(8), [1, 2, 3, 4, ...new Array(28).fill(0)]);
  run(chip, 0x40, 0x04, 0);
  const crc = dataSummaryCrc(chip.state);
  t.equal(st(chip, LOCK, 0x01, crc ^ 0xffff), 0x0f, 'wrong data CRC refused');
  t.equal(st(chip, LOCK, 0x01, crc), 0x00);
  t.same([...run(chip, READ, 0x02, dataAddr(8)).data], [1, 2, 3, 4], 'data readable after lock');
  t.equal(run(chip, READ, 0x81, 0).data.length, 32, 'OTP 32-byte read after lock');
  t.equal(st(chip, WRITE, 0x01, 0, [1, 2, 3, 4]), 0x0f, 'OTP read-only after lock');
  t.equal(st(chip, LOCK, 0x81, 0), 0x0f, 'second data lock refused');
});

t.test('a private key cannot be read by any path, before or after any lock', async (t) => {
  const blank = awakeBlank();
  const cfgLocked = configLockedChip();
  run(cfgLocked, 0x40, 0x04, 0);
  const { chip: locked } = lockedChipWithKey();
  for (const [name, chip] of [['blank', blank], ['config locked', cfgLocked], ['data locked', locked]] as const) {
    for (const [p1, addr] of [[0x02, dataAddr(0, 0, 0)], [0x02, dataAddr(0, 0, 1)], [0x02, dataAddr(0, 1, 0)], [0x82, dataAddr(0, 0)]] as const) {
      const r = run(chip, READ, p1, addr);
      t.equal(r.status, 0x0f, `${name}: read p1=${p1.toString(16)} addr=${addr.toString(16)} refused`);
      t.equal(r.data.length, 1, 'no data leaves');
    }
    t.equal(st(chip, 0x15, 0x02, 0), 0x0f, `${name}: GenDig over the key refused`);
    t.equal(st(chip, 0x08, 0x00, 0, new Uint8Array(32)), 0x0f, `${name}: MAC with the key refused`);
    t.equal(st(chip, 0x47, 0x04, 0), 0x0f, `${name}: HMAC with the key refused`);
  }
});

t.test('IsSecret slot: never readable in clear after data lock', async (t) => {
  const chip = configLockedChip();
  // Slot 9 as a secret (IsSecret, no EncryptRead) must be configured before config lock.
  const c2 = awakeBlank();
  writeProvisioningConfig(c2);
  run(c2, WRITE, 0x00, (20 + 2 * 8) / 4, [0x80, 0x00, 0x80, 0x00]); // slots 8 and 9: SlotConfig 0x0080 (IsSecret)
  run(c2, LOCK, 0x80, 0);
  run(c2, WRITE, 0x82, dataAddr(9, 0), new Uint8Array(32).fill(0x42));
  run(c2, LOCK, 0x81, 0);
  t.equal(st(c2, READ, 0x02, dataAddr(9)), 0x0f, '4-byte read refused');
  t.equal(st(c2, READ, 0x82, dataAddr(9)), 0x0f, '32-byte read refused (no EncryptRead)');
  t.equal(st(c2, READ, 0x82, dataAddr(9, 1)), 0x0f, 'second block refused');
  t.equal(st(chip, READ, 0x02, dataAddr(9)), 0x0f, 'and nothing is readable before data lock either');
});

t.test('WriteConfig after data lock: Always writes, Never refuses; per-slot lock', async (t) => {
  const { chip } = lockedChipWithKey();
  t.equal(st(chip, WRITE, 0x82, dataAddr(10, 0), new Uint8Array(32).fill(1)), 0x00, 'slot 10 (Always) writable after data lock');
  t.equal(st(chip, WRITE, 0x02, dataAddr(10, 2, 1), [7, 7, 7, 7]), 0x00, '4-byte writes allowed after data lock');
  t.equal(st(chip, WRITE, 0x82, dataAddr(10, 2), new Uint8Array(32).fill(4)), 0x00, 'after data lock too, block 2 takes a 32-byte write (issue 14, calib_write_pubkey)');
  t.same([...chip.state.slots[10]!.subarray(64)], [4, 4, 4, 4, 4, 4, 4, 4], 'only its 8 bytes are kept');
  t.equal(st(chip, WRITE, 0x82, dataAddr(10, 3), new Uint8Array(32)), 0x03, 'block 3 does not exist');
  t.equal(st(chip, LOCK, 0x02 | (10 << 2), 0), 0x00, 'slot 10 locked');
  t.equal(st(chip, WRITE, 0x82, dataAddr(10, 0), new Uint8Array(32).fill(2)), 0x0f, 'locked slot refuses writes');
  t.same([...run(chip, READ, 0x82, dataAddr(10, 0)).data.subarray(0, 4)], [1, 1, 1, 1], 'still readable');
  t.equal(st(chip, LOCK, 0x02 | (10 << 2), 0), 0x0f, 'already locked');
  t.equal(run(chip, READ, 0x00, 22).data[1]! & (1 << 2), 0, 'slot 10 bit cleared in byte 89');
  t.equal(st(chip, LOCK, 0x02 | (0 << 2), 0), 0x00, 'slot 0 (Lockable) locks');
  t.equal(st(chip, 0x40, 0x04, 0), 0x0f, 'GenKey refused on a locked key slot');
  t.equal(run(chip, 0x40, 0x00, 0).data.length, 64, 'public key still computable');

  const c2 = awakeBlank();
  writeProvisioningConfig(c2);
  run(c2, WRITE, 0x00, (20 + 2 * 8) / 4, [0x00, 0x20, 0x00, 0x80]); // slot 8 WriteConfig 0010 Never, slot 9 1000 Never
  run(c2, WRITE, 0x00, (96 + 2 * 8) / 4, [0x1c, 0x00, 0x1c, 0x00]); // slots 8, 9 not Lockable
  run(c2, LOCK, 0x80, 0);
  t.equal(st(c2, WRITE, 0x82, dataAddr(8), new Uint8Array(32)), 0x00, 'Never slot writable before data lock');
  run(c2, LOCK, 0x81, 0);
  t.equal(st(c2, WRITE, 0x02, dataAddr(8), [1, 2, 3, 4]), 0x0f, 'Never slot refuses after data lock');
  t.equal(st(c2, WRITE, 0x02, dataAddr(9), [1, 2, 3, 4]), 0x0f);
  t.equal(st(c2, LOCK, 0x02 | (8 << 2), 0), 0x0f, 'slot lock refused on a non-Lockable slot');
  t.equal(st(c2, WRITE, 0x42, dataAddr(10), new Uint8Array(36)), 0x0f, 'encrypted write not modelled: execution error');
});

t.test('slot lock refused before data lock', async (t) => {
  const chip = configLockedChip();
  t.equal(st(chip, LOCK, 0x02 | (10 << 2), 0), 0x0f);
});

t.test('UpdateExtra sets bytes 84/85 once, before or after config lock', async (t) => {
  const blank = awakeBlank();
  t.equal(st(blank, 0x20, 0x00, 0x42), 0x00, 'before config lock too (issue 14: calib_write_config_zone ends with it)');
  const chip = configLockedChip();
  t.equal(st(chip, 0x20, 0x00, 0x42), 0x00);
  t.equal(st(chip, 0x20, 0x00, 0x43), 0x0f, 'only once');
  t.equal(st(chip, 0x20, 0x01, 0x07), 0x00);
  t.same([...run(chip, READ, 0x00, 21).data.subarray(0, 2)], [0x42, 0x07]);
  t.equal(st(chip, 0x20, 0x03, 0), 0x03, 'bad mode');
});

t.test('IsSecret + EncryptRead: 32-byte read only after GenDig with ReadKey, output XOR TempKey', async (t) => {
  const { createHash } = await import('node:crypto');
  const chip = awakeBlank();
  writeProvisioningConfig(chip);
  // Slot 9: ReadKey 8, EncryptRead, IsSecret (SlotConfig 0x00C8); slot 8 holds the read key.
  run(chip, WRITE, 0x00, (20 + 2 * 8) / 4, [0x80, 0x00, 0xc8, 0x00]);
  run(chip, LOCK, 0x80, 0);
  const readKey = new Uint8Array(32).fill(0x21);
  const secret = new Uint8Array(32).map((_, i) => i * 3);
  run(chip, WRITE, 0x82, dataAddr(8), readKey);
  run(chip, WRITE, 0x82, dataAddr(9), secret);
  run(chip, LOCK, 0x81, 0);
  t.equal(st(chip, READ, 0x82, dataAddr(9)), 0x0f, 'no GenDig: refused');
  t.equal(st(chip, READ, 0x02, dataAddr(9)), 0x0f, '4-byte encrypted read refused');
  const nonce = new Uint8Array(32).fill(0x5c);
  run(chip, 0x16, 0x03, 0, nonce);
  t.equal(st(chip, 0x15, 0x02, 8), 0x00, 'GenDig over the read key');
  const sn = chip.serialNumber;
  const m = new Uint8Array(96);
  m.set(readKey, 0);
  m.set([0x15, 0x02, 8, 0, sn[8]!, sn[0]!, sn[1]!], 32);
  m.set(nonce, 64);
  const tk = createHash('sha256').update(m).digest();
  const out = run(chip, READ, 0x82, dataAddr(9)).data;
  t.notSame([...out], [...secret], 'not in clear');
  t.same([...out.map((b, i) => b ^ tk[i]!)], [...secret], 'decrypts with the host-computed TempKey');
  t.equal(st(chip, READ, 0x82, dataAddr(9)), 0x0f, 'TempKey consumed');
  run(chip, 0x16, 0x03, 0, nonce);
  run(chip, 0x15, 0x02, 10);
  t.equal(st(chip, READ, 0x82, dataAddr(9)), 0x0f, 'GenDig over the wrong key refused');
});

t.test('CheckMac and Info KeyValid around the private key', async (t) => {
  const { chip } = lockedChipWithKey();
  t.equal(st(chip, 0x28, 0x00, 0, new Uint8Array(77)), 0x0f, 'CheckMac with the private key refused');
  t.same([...run(chip, 0x30, 0x01, 0).data], [1, 0, 0, 0], 'slot 0 holds a valid key');
  t.same([...run(chip, 0x30, 0x01, 11).data], [1, 0, 0, 0], 'slot 11 public key without PubInfo counts as valid');
  t.equal(st(chip, 0x30, 0x01, 10), 0x0f, 'not an ECC slot');
  const blank = configLockedChip();
  t.same([...run(blank, 0x30, 0x01, 0).data], [0, 0, 0, 0], 'no key generated yet');
});
