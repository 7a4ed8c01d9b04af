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
