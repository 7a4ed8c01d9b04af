import t from 'tap';
import { changesPersistentState } from '../../emulator/chip-dir.js';
import { encodeCommand } from '../../secure-element/packet.js';
import { awakeBlank } from './atecc608/helpers.js';

const frame = (opcode: number, param1 = 0) => encodeCommand({ opcode, param1, param2: 0, data: new Uint8Array() });

t.test('issue 14: the commands that can store a key, digest or count are saved after', async (t) => {
  for (const op of [0x1c, 0x56, 0x80, 0x46, 0x12, 0x17, 0x20, 0x43]) t.ok(changesPersistentState(frame(op)), `opcode 0x${op.toString(16)}`);
  const chip = awakeBlank();
  chip.state.config.fill(0, 20, 52); // SlotConfig all 0: no limited-use key
  t.notOk(changesPersistentState(frame(0x41, 0x80), chip), 'Sign without limited-use keys');
  t.notOk(changesPersistentState(frame(0x08), chip), 'MAC without limited-use keys');
  chip.state.config[20 + 2 * 9] = 0x20; // slot 9 SlotConfig.LimitedUse
  t.ok(changesPersistentState(frame(0x08), chip), 'MAC may advance counter 0 on a chip with a limited-use key');
  t.ok(changesPersistentState(frame(0x51), chip), 'AES likewise');
});
