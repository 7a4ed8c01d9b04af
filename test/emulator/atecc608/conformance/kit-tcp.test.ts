import t from 'tap';
import { createBlankChip } from '../../../../emulator/atecc608/factory.js';
import { KitServer } from '../../../../emulator/kit/kit-server.js';
import { listenKitTcp, type KitTcpListener } from '../../../../emulator/kit/tcp.js';
import { KitTcpTransport } from '../../../../secure-element/transports/kit-tcp.js';
import { conformanceSuite } from './conformance.suite.js';

const listeners: KitTcpListener[] = [];
t.teardown(() => Promise.all(listeners.map((l) => l.close())));

t.test('ATECC608 conformance, kit protocol over TCP', async (t) => {
  conformanceSuite(t, async () => {
    const l = await listenKitTcp(new KitServer({ chips: [createBlankChip()] }));
    listeners.push(l);
    return KitTcpTransport.open(l.host, l.port);
  });
});
