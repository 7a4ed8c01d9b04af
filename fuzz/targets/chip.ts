/**
 * Target `chip`: emulator/atecc608/chip.ts `execute()` on chips in three lifecycle states (blank,
 * config-locked, locked with a key). Every frame to an awake chip gets a response whose count and
 * CRC are right, a 4-byte answer carries a status byte the datasheet defines (SelfTest's bitmap
 * aside), nothing throws, and no command handler failed inside the model (internalErrors stays 0:
 * the model turns a handler exception into 0x0F, which would hide a bug from the wire check).
 * Also `chipFromImage` on damaged images: a chip or CHIP_IMAGE_INVALID.
 */
import fc from 'fast-check';
import { chipFromImage, type ChipImage } from '../../emulator/atecc608/image.js';
import { Status } from '../../secure-element/status.js';
import { Opcode } from '../../secure-element/opcodes.js';
import { decodeResponse } from '../../secure-element/packet.js';
import { chipFrom, chipImages, chipSteps, type ChipStep } from '../chip-frames.js';
import { clip, describe, ensure, expectTypedError, FuzzFinding, type FuzzTarget } from '../harness.js';

type Input = { kind: 'steps'; state: number; steps: ChipStep[] } | { kind: 'image'; image: unknown };

const STATUSES = new Set<number>(Object.values(Status));
const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Damaged images: one field replaced by a hostile value, or any JSON value at all. */
function damagedImage(images: readonly ChipImage[]): fc.Arbitrary<unknown> {
  const fieldValue = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.stringMatching(/^[0-9a-f]{0,300}$/), fc.constantFrom('', 'zz', '0'.repeat(63), null, 2, []));
  return fc.oneof(
    fc.tuple(fc.constantFrom(...images), fc.constantFrom('format', 'version', 'config', 'otp', 'slots', 'cloneScalar', 'extra'), fieldValue)
      .map(([img, key, v]) => ({ ...img, [key]: v })),
    fc.tuple(fc.constantFrom(...images), fc.nat(15), fieldValue).map(([img, i, v]) => ({ ...img, slots: img.slots.map((s, j) => (j === i ? v : s)) })),
    fc.jsonValue({ maxDepth: 3 }),
  );
}

/** The target. */
export const chipTarget: FuzzTarget<Input> = {
  name: 'chip',
  summary: 'Atecc608Chip.execute(frame) in three lock states: never throws, CRC-valid status-coded answers, no handler exception; chipFromImage on damaged images',
  heapBoundBytes: 16 * 1024 * 1024,
  async setup() {
    const images = chipImages();
    return {
      sync: true,
      arbitrary: fc.oneof(
        { weight: 19, arbitrary: fc.record({ kind: fc.constant('steps' as const), state: fc.nat(images.length - 1), steps: chipSteps }) },
        { weight: 1, arbitrary: damagedImage(images).map((image): Input => ({ kind: 'image', image })) },
      ),
      check(input) {
        if (input.kind === 'image') {
          try {
            chipFromImage(input.image);
          } catch (err) {
            expectTypedError(err, 'chipFromImage', ['CHIP_IMAGE_INVALID']);
          }
          return;
        }
        const chip = chipFrom(images[input.state]!);
        for (const step of input.steps) {
          if (step.op !== 'execute') {
            chip[step.op]();
          } else {
            const awake = chip.awake;
            let answer: ReturnType<typeof chip.execute>;
            try {
              answer = chip.execute(step.frame);
            } catch (err) {
              throw new FuzzFinding(`execute(${hex(step.frame)}) threw ${describe(err)}`);
            }
            const { response } = answer;
            if (!awake) {
              ensure(response === null, `execute on a sleeping chip answered ${response && hex(response)}`);
              continue;
            }
            ensure(response, `awake chip gave no response to ${hex(step.frame)}`);
            let data: ReturnType<typeof decodeResponse>;
            try {
              data = decodeResponse(response);
            } catch (err) {
              throw new FuzzFinding(`answer ${hex(response)} to ${hex(step.frame)} does not decode: ${describe(err)}`);
            }
            const selfTest = step.frame[1] === Opcode.SELFTEST;
            ensure(data.status === undefined || STATUSES.has(data.status) || selfTest, () => `status 0x${data.status!.toString(16)} is not a datasheet status (frame ${clip(hex(step.frame), 80)})`);
          }
          ensure(chip.internalErrors === 0, () => `a command handler threw inside the model (internalErrors ${chip.internalErrors}) on steps ${clip(JSON.stringify(input.steps.map((s) => (s.op === 'execute' ? hex(s.frame) : s.op))), 400)}`);
        }
      },
      close() {},
    };
  },
};
