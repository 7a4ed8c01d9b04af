import { duplexPair } from 'node:stream';
import t from 'tap';
import { createBlankChip } from '../../emulator/atecc608/factory.js';
import { KitServer } from '../../emulator/kit/kit-server.js';
import { kitTarget } from '../../fuzz/targets/kit.js';
import { seededPass } from './seeded-pass.js';

t.test('kit: seeded fuzz pass (request lines in arbitrary chunks over a Duplex)', (t) => seededPass(t, kitTarget, 600, 0x11c1));

t.test('issue 11 (fuzz finding): a host that half-closes after its requests still gets every reply', async (t) => {
  const kit = new KitServer({ chips: [createBlankChip()], honourTiming: false });
  const [host, server] = duplexPair();
  kit.handle(server);
  host.setEncoding('latin1');
  let out = '';
  host.on('data', (c: string) => (out += c));
  const ended = new Promise((r) => host.on('end', r));
  // Before the fix the kit ended its side on the host's FIN and dropped the queued replies.
  host.end('board:device(00)\nE:physical:select(C0)\ns:w()\n');
  await ended;
  t.equal(out, 'ECC608 TWI 00(C0)\n00()\n00(04113343)\n');
  kit.close();
});
