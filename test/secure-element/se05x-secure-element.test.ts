/**
 * The shared SecureElement suite on the SE050 emulator: applet 3.1 in process, applet 7.2 in
 * process, and applet 3.1 over JRCP v1 on TCP (the production link to the emulator).
 */
import t from 'tap';
import { se050FromImage, se050Image } from '../../emulator/se050/image.js';
import { InProcessApduTransport } from '../../emulator/se050/in-process-apdu-transport.js';
import { JrcpServer } from '../../emulator/se050/jrcp/jrcp-server.js';
import { listenJrcpTcp } from '../../emulator/se050/jrcp/tcp.js';
import { JrcpTcpTransport } from '../../secure-element/se05x/jrcp-tcp-transport.js';
import { Se05xDevice } from '../../secure-element/se05x/se05x-device.js';
import { Se05xSecureElement } from '../../secure-element/se05x/se05x-secure-element.js';
import { createTemplateDeviceIssuer } from '../../server/ca/template-device-issuer.js';
import { makeTestPki } from './atcacert/ca-fixture.js';
import { newChip } from '../emulator/se050/helpers.js';
import { secureElementSuite, type SuiteSubject } from './secure-element.suite.js';

const pki = makeTestPki();

/** Certificates for an SE050 unit (the template issuer takes 9 serial bytes: the UID's first 9 here; the SE050 stores any DER). */
async function issue(serial: Uint8Array, publicKey: Uint8Array) {
  const p = await pki;
  const issuer = createTemplateDeviceIssuer({ signer: p.signer, issuingCaDer: p.issuingDer, validityYears: 10 });
  const c = await issuer.issue({ chipSerial: serial.subarray(0, 9), publicKey, product: 'Keyline Test', issuedAt: new Date() });
  return { device: c.der, chain: [p.issuingDer] };
}

for (const applet of ['3.1', '7.2'] as const) {
  t.test(`SE050 applet ${applet}, in process`, async (t) => {
    secureElementSuite(t, async (): Promise<SuiteSubject> => {
      const chip = await newChip(applet);
      return {
        se: new Se05xSecureElement(new Se05xDevice(new InProcessApduTransport(chip))),
        issue: (id, pub) => issue(id.serial, pub),
        // A power cycle through the image, as the emulator's serve loop persists it.
        reopen: async () => new Se05xSecureElement(new Se05xDevice(new InProcessApduTransport(se050FromImage(JSON.parse(JSON.stringify(se050Image(chip))))))),
      };
    });
  });
}

t.test('SE050 applet 3.1 over JRCP/TCP', async (t) => {
  secureElementSuite(t, async (): Promise<SuiteSubject> => {
    const chip = await newChip('3.1');
    const listener = await listenJrcpTcp(new JrcpServer({ chip }));
    t.teardown(() => listener.close());
    const open = async () => new Se05xSecureElement(new Se05xDevice(await JrcpTcpTransport.connect({ host: '127.0.0.1', port: listener.port })));
    return { se: await open(), issue: (id, pub) => issue(id.serial, pub), reopen: open };
  });
});
