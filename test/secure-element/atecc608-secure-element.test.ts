/**
 * The shared SecureElement suite on the ATECC608 emulator, through the existing AteccDevice
 * driver and the atcacert codec made from the issuing CA's templates.
 */
import t from 'tap';
import { createBlankChip } from '../../emulator/atecc608/factory.js';
import { chipFromImage, chipImage } from '../../emulator/atecc608/image.js';
import { InProcessTransport } from '../../emulator/in-process-transport.js';
import { deviceCertDefs } from '../../secure-element/atcacert/device-defs.js';
import { signerCertDef } from '../../secure-element/atcacert/signer-def.js';
import { Atecc608SecureElement, atcacertCodec } from '../../secure-element/atecc608-secure-element.js';
import { AteccDevice } from '../../secure-element/device.js';
import { createTemplateDeviceIssuer } from '../../server/ca/template-device-issuer.js';
import { makeTestPki } from './atcacert/ca-fixture.js';
import { secureElementSuite, type SuiteSubject } from './secure-element.suite.js';

t.test('ATECC608, in process', async (t) => {
  const p = await makeTestPki();
  const opts = { issuingCaDer: p.issuingDer, product: 'Keyline Test', validityYears: 10 };
  const codec = atcacertCodec({ signerDef: signerCertDef(p.issuingDer), deviceDefs: deviceCertDefs(opts) });
  const issuer = createTemplateDeviceIssuer({ signer: p.signer, issuingCaDer: p.issuingDer, validityYears: 10 });
  secureElementSuite(t, async (): Promise<SuiteSubject> => {
    const chip = createBlankChip();
    return {
      se: new Atecc608SecureElement(new AteccDevice(new InProcessTransport(chip)), { certificates: codec }),
      issue: async (id, publicKey) => ({ device: (await issuer.issue({ chipSerial: id.serial, publicKey, product: opts.product, issuedAt: new Date() })).der, chain: [p.issuingDer] }),
      reopen: async () => new Atecc608SecureElement(new AteccDevice(new InProcessTransport(chipFromImage(JSON.parse(JSON.stringify(chipImage(chip)))))), { certificates: codec }),
    };
  });
});
