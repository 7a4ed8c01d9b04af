/**
 * Chip command frames for the `chip` and `kit` targets: well-framed commands (right count and
 * CRC) with every opcode the model knows plus unknown ones, parameters at their edges and data
 * of the lengths commands take, then sometimes a raw edit (bad CRC, wrong count, truncated);
 * and wake / idle / sleep between commands. Chips come from images of three lifecycle states.
 */
import fc from 'fast-check';
import { Atecc608Chip } from '../emulator/atecc608/chip.js';
import { chipFromImage, chipImage, type ChipImage } from '../emulator/atecc608/image.js';
import { Opcode } from '../secure-element/opcodes.js';
import { encodeCommand, MAX_PACKET } from '../secure-element/packet.js';
import { awakeBlank, configLockedChip, lockedChipWithKey } from '../test/emulator/atecc608/helpers.js';
import { applyByteEdits } from './mutate-bytes.js';

/** One step on a chip. */
export type ChipStep = { op: 'wake' | 'idle' | 'sleep' } | { op: 'execute'; frame: Uint8Array };

const KNOWN_OPCODES = Object.values(Opcode) as number[];

/** What each command takes (datasheet §9 per command): modes, a param2 range, data lengths. */
const SPECS: Array<{ opcode: number; p1: number[]; p2: fc.Arbitrary<number>; data: number[] }> = [
  { opcode: Opcode.INFO, p1: [0, 1, 2, 3], p2: fc.oneof(fc.nat(16), fc.constantFrom(0x4000, 0x8000, 0xc000)), data: [0] },
  { opcode: Opcode.READ, p1: [0x00, 0x01, 0x02, 0x80, 0x81, 0x82], p2: fc.nat(0x0fff), data: [0] },
  { opcode: Opcode.WRITE, p1: [0x00, 0x01, 0x02, 0x80, 0x81, 0x82, 0xc2, 0x42], p2: fc.nat(0x0fff), data: [4, 32, 36, 64] },
  { opcode: Opcode.LOCK, p1: [0x00, 0x01, 0x80, 0x81, 0x02, 0x06, 0x2e, 0x3e, 0x03], p2: fc.oneof(fc.constant(0), fc.nat(0xffff)), data: [0] },
  { opcode: Opcode.RANDOM, p1: [0], p2: fc.constant(0), data: [0] },
  { opcode: Opcode.NONCE, p1: [0x00, 0x01, 0x03, 0x23, 0x43, 0x20, 0x40], p2: fc.constantFrom(0, 0x80), data: [20, 32, 64] },
  { opcode: Opcode.GENKEY, p1: [0x00, 0x04, 0x08, 0x0c, 0x10, 0x14, 0x18, 0x1c], p2: fc.nat(16), data: [0, 3] },
  { opcode: Opcode.SIGN, p1: [0x80, 0x00, 0x02, 0x82, 0xa0, 0xc0, 0x42], p2: fc.nat(16), data: [0] },
  { opcode: Opcode.VERIFY, p1: [0x00, 0x01, 0x02, 0x03, 0x20, 0x21, 0x22, 0x80], p2: fc.oneof(fc.constant(4), fc.nat(16)), data: [64, 128, 83, 96, 19] },
  { opcode: Opcode.SHA, p1: [0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x20, 0x40, 0x80, 0xc0], p2: fc.oneof(fc.nat(64), fc.nat(16)), data: [0, 1, 32, 55, 63, 64] },
  { opcode: Opcode.COUNTER, p1: [0, 1, 2], p2: fc.nat(2), data: [0] },
  { opcode: Opcode.ECDH, p1: [0x00, 0x04, 0x08, 0x0c, 0x01, 0x02], p2: fc.oneof(fc.nat(16), fc.constant(0xffff)), data: [64, 0] },
  { opcode: Opcode.GENDIG, p1: [0, 1, 2, 3, 4, 5], p2: fc.nat(16), data: [0, 4, 32] },
  { opcode: Opcode.CHECKMAC, p1: [0x00, 0x01, 0x02, 0x04, 0x20, 0x21, 0x22], p2: fc.nat(16), data: [77, 0] },
  { opcode: Opcode.MAC, p1: [0x00, 0x01, 0x02, 0x03, 0x10, 0x20, 0x40, 0x41], p2: fc.nat(16), data: [0, 32] },
  { opcode: Opcode.SELFTEST, p1: [0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x3b, 0xff], p2: fc.constant(0), data: [0] },
  { opcode: Opcode.UPDATE_EXTRA, p1: [0, 1, 2, 3], p2: fc.oneof(fc.nat(255), fc.nat(0xffff)), data: [0] },
];

/** A command as its opcode's spec allows (modes, slot, data length), so it gets past parsing. */
const specCommand = fc.constantFrom(...SPECS).chain((spec) => fc.record({
  opcode: fc.constant(spec.opcode),
  param1: fc.constantFrom(...spec.p1),
  param2: spec.p2,
  data: fc.constantFrom(...spec.data).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
}));

/** A well-framed command, then maybe one raw edit (which a real bus could also produce). */
export const commandFrame: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 3, arbitrary: specCommand.map(encodeCommand) },
  { weight: 1, arbitrary: looseCommand() },
);

/** Any opcode, parameters at their edges, data of command-like lengths, sometimes a raw edit. */
function looseCommand(): fc.Arbitrary<Uint8Array> {
  const opcode = fc.oneof({ weight: 8, arbitrary: fc.constantFrom(...KNOWN_OPCODES) }, { weight: 1, arbitrary: fc.nat(255) });
  // Mode bytes the commands define (zones, sources, targets), then anything.
  const param1 = fc.oneof(
    { weight: 4, arbitrary: fc.constantFrom(0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x0c, 0x10, 0x1c, 0x20, 0x23, 0x40, 0x43, 0x80, 0x81, 0x82, 0xc0) },
    { weight: 1, arbitrary: fc.nat(255) },
  );
  const param2 = fc.oneof(fc.nat(16), fc.constantFrom(0x0000, 0x0001, 0x000f, 0x0010, 0x0040, 0x0080, 0x8000, 0xffff), fc.nat(0xffff));
  const data = fc.oneof(
    fc.constantFrom(0, 1, 3, 4, 20, 32, 36, 64, 68, 72, 96, 128, 140).chain((n) => fc.uint8Array({ minLength: n, maxLength: n })),
    fc.uint8Array({ maxLength: MAX_PACKET - 7 }),
  );
  const rawEdits = fc.array(fc.oneof(
    fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bit: fc.nat(7) }),
    fc.record({ op: fc.constant('truncate' as const), at: fc.nat() }),
    fc.record({ op: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 8 }) }),
  ), { minLength: 1, maxLength: 2 });
  const edits = fc.oneof({ weight: 6, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: rawEdits });
  return fc.tuple(opcode, param1, param2, data, edits).map(([op, p1, p2, d, e]) => {
    const frame = encodeCommand({ opcode: op, param1: p1, param2: p2, data: d });
    return e ? applyByteEdits(frame, e) : frame;
  });
}

/** Any frame: mostly well-framed commands, some raw bytes (up to past the 155-byte buffer). */
export const anyFrame: fc.Arbitrary<Uint8Array> = fc.oneof(
  { weight: 9, arbitrary: commandFrame },
  { weight: 1, arbitrary: fc.uint8Array({ maxLength: 200 }) },
);

/** A short session: commands with the occasional wake, idle or sleep between them. */
export const chipSteps: fc.Arbitrary<ChipStep[]> = fc.array(
  fc.oneof(
    { weight: 8, arbitrary: anyFrame.map((frame): ChipStep => ({ op: 'execute', frame })) },
    { weight: 1, arbitrary: fc.constantFrom<ChipStep>({ op: 'wake' }, { op: 'idle' }, { op: 'sleep' }) },
  ),
  { minLength: 1, maxLength: 8 },
);

/** Images of a blank chip, a config-locked one and a fully locked one with a key in slot 0. */
export function chipImages(): ChipImage[] {
  return [awakeBlank(), configLockedChip(), lockedChipWithKey().chip].map(chipImage);
}

/** A fresh awake chip from an image, on a fixed clock (its watchdog never fires mid-input). */
export function chipFrom(image: ChipImage): Atecc608Chip {
  const chip = chipFromImage(image, { now: () => 0 });
  chip.wake();
  return chip;
}
