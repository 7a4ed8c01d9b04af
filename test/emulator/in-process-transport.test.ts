import t from 'tap';
import { createBlankChip } from '../../emulator/atecc608/factory.js';
import { InProcessTransport } from '../../emulator/in-process-transport.js';
import { encodeCommand } from '../../secure-element/packet.js';
import { transportSuite } from '../secure-element/transport.suite.js';

t.test('transport suite: in-process', async (t) => {
  transportSuite(t, async () => new InProcessTransport(createBlankChip()));
});

t.test('waits the modelled execution time when the chip reports one', async (t) => {
  const tr = new InProcessTransport(createBlankChip({ timing: true }));
  await tr.wake();
  const start = performance.now();
  await tr.transact(encodeCommand({ opcode: 0x1b, param1: 0, param2: 0, data: new Uint8Array() }), 23); // Random, 23 ms
  t.ok(performance.now() - start >= 20, 'waited about the Random execution time');
  const fast = new InProcessTransport(createBlankChip({ timing: true }), { wait: false });
  await fast.wake();
  const s2 = performance.now();
  await fast.transact(encodeCommand({ opcode: 0x1b, param1: 0, param2: 0, data: new Uint8Array() }), 23);
  t.ok(performance.now() - s2 < 20, 'wait: false skips it');
});

t.test('a swallowed response is ATCA_COMM_ERROR; a swallowed wake ATCA_WAKE_FAILED', async (t) => {
  const tr = new InProcessTransport(createBlankChip({ faults: { noResponseRate: 1, rng: () => 0 } }));
  await t.rejects(tr.wake(), { code: 'ATCA_WAKE_FAILED' });
  const asleep = new InProcessTransport(createBlankChip());
  // Not woken: the chip ignores the frame.
  await t.rejects(asleep.transact(encodeCommand({ opcode: 0x30, param1: 0, param2: 0, data: new Uint8Array() }), 5), { code: 'ATCA_COMM_ERROR' });
});
