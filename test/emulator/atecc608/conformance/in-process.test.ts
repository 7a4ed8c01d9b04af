import t from 'tap';
import { createBlankChip } from '../../../../emulator/atecc608/factory.js';
import { InProcessTransport } from '../../../../emulator/in-process-transport.js';
import { conformanceSuite } from './conformance.suite.js';

t.test('ATECC608 conformance, in-process transport', async (t) => {
  conformanceSuite(t, async () => new InProcessTransport(createBlankChip(), { wait: false }));
});
