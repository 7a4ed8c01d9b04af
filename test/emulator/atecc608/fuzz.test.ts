import t from 'tap';
import { checkCrc } from '../../../secure-element/crc.js';
import { encodeCommand } from '../../../secure-element/packet.js';
import { awakeBlank, configLockedChip, lockedChipWithKey } from './helpers.js';

// Deterministic PRNG so a failure reproduces.
function prng(seed: number): () => number {
  return () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

t.test('random well-framed commands in every lock state always get a CRC-valid answer', async (t) => {
  const rnd = prng(7);
  const chips = [awakeBlank(), configLockedChip(), lockedChipWithKey().chip];
  const opcodes = [0x02, 0x08, 0x12, 0x15, 0x16, 0x17, 0x1b, 0x20, 0x24, 0x28, 0x30, 0x40, 0x41, 0x43, 0x45, 0x47, 0x77, 0x46, 0x51];
  const lengths = [0, 1, 3, 4, 20, 32, 36, 64, 77, 128, 140];
  let answered = 0;
  for (const chip of chips) {
    for (let i = 0; i < 1500; i++) {
      const data = new Uint8Array(lengths[Math.floor(rnd() * lengths.length)]!).map(() => Math.floor(rnd() * 256));
      const frame = encodeCommand({
        opcode: opcodes[Math.floor(rnd() * opcodes.length)]!,
        param1: Math.floor(rnd() * 256),
        param2: rnd() < 0.5 ? Math.floor(rnd() * 16) : Math.floor(rnd() * 65536),
        data,
      });
      // Never lock anything by accident in the blank chip's later iterations: the point is the answers.
      const { response } = chip.execute(frame);
      if (!response || !checkCrc(response) || response[0] !== response.length) t.fail(`bad answer to ${Buffer.from(frame).toString('hex')}`);
      else answered++;
    }
  }
  t.equal(answered, 4500);
  t.same(chips.map((c) => c.internalErrors), [0, 0, 0], 'no handler threw');
});

t.test('issue 14 commands, well-sized, on cryptoauthlib\'s test configuration in three stages: answers, never a handler exception', async (t) => {
  const { CalibHost, chipExec } = await import('./conformance/calib-host.js');
  const { toStage } = await import('./conformance/stages.js');
  const rnd = prng(14);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const bytes = (n: number) => new Uint8Array(n).map(() => Math.floor(rnd() * 256));
  const chips = [];
  for (const stage of ['unlocked', 'config-locked', 'locked'] as const) {
    const chip = awakeBlank();
    await toStage(new CalibHost(chipExec(chip)), stage);
    chips.push(chip);
  }
  // Data shaped as each command takes it, with mode and key bytes from their defined values and beyond.
  const shapes: Array<() => { opcode: number; param1: number; param2: number; data: Uint8Array }> = [
    () => ({ opcode: 0x51, param1: pick([0x00, 0x01, 0x03, 0x40, 0x81, 0xc0, 0x02, 0x08]), param2: pick([0xffff, 0, 4, 5, 9, 10, 15, 16]), data: bytes(pick([16, 32])) }),
    () => {
      const msg = bytes(pick([0, 16, 32, 64, 128]));
      const details = [Math.floor(rnd() * 256), pick([0, 1, 2, 3, 4, 6]), 0, msg.length];
      return { opcode: 0x56, param1: Math.floor(rnd() * 256) & pick([0x7f, 0xff]), param2: Math.floor(rnd() * 65536), data: Uint8Array.from([...details, ...msg]) };
    },
    () => ({ opcode: 0x80, param1: pick([0x05, 0x06, 0x07, 0x45, 0x85, 0x86, 0x87, 0xc7, 0x04]), param2: pick([0, 1]), data: bytes(pick([32, 96])) }),
    () => ({ opcode: 0x1c, param1: pick([0x00, 0x04, 0x01]), param2: Math.floor(rnd() * 17), data: bytes(pick([0, 32])) }),
    () => ({ opcode: 0x46, param1: pick([0x00, 0x40, 0x41]), param2: Math.floor(rnd() * 17), data: bytes(68) }),
    () => ({ opcode: 0x12, param1: pick([0xc2, 0x42, 0xc1]), param2: Math.floor(rnd() * 0x1000), data: bytes(pick([36, 64])) }),
    () => ({ opcode: 0x15, param1: Math.floor(rnd() * 7), param2: pick([0, 1, 4, 9, 0x8000, 0xffff]), data: bytes(pick([0, 4, 32])) }),
    () => ({ opcode: 0x47, param1: pick([0x00, 0x01, 0x02, 0x03, 0x04, 0x06, 0x07, 0x42, 0xc2]), param2: pick([0, 5, 11, 36, 41, 99, 0xffff]), data: bytes(pick([0, 5, 36, 41, 64, 99])) }),
    () => ({ opcode: 0x45, param1: pick([0x01, 0x80, 0x82, 0xa0, 0xa2, 0x83]), param2: pick([4, 11, 14, 15]), data: bytes(pick([64, 83, 128])) }),
    () => ({ opcode: 0x43, param1: Math.floor(rnd() * 16), param2: pick([0, 1, 2, 0xffff]), data: bytes(64) }),
    () => ({ opcode: 0x40, param1: pick([0x00, 0x04, 0x0c, 0x10]), param2: pick([0xffff, 0, 2, 14]), data: bytes(pick([0, 3])) }),
    () => ({ opcode: 0x16, param1: pick([0x00, 0x01, 0x03, 0x43, 0x83]), param2: pick([0, 0x8000, 0x4000]), data: bytes(pick([20, 32, 64])) }),
    () => ({ opcode: 0x30, param1: pick([0x04, 0x01]), param2: Math.floor(rnd() * 8), data: new Uint8Array() }),
    () => ({ opcode: 0x20, param1: pick([0, 1, 2]), param2: Math.floor(rnd() * 20), data: new Uint8Array() }),
  ];
  let answered = 0;
  for (const chip of chips) {
    for (let i = 0; i < 1500; i++) {
      const { response } = chip.execute(encodeCommand(pick(shapes)()));
      if (!response || !checkCrc(response) || response[0] !== response.length) t.fail('bad answer');
      else answered++;
    }
  }
  t.equal(answered, 4500);
  t.same(chips.map((c) => c.internalErrors), [0, 0, 0], 'no handler threw');
});
