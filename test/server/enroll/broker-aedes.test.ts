import t from 'tap';
import { toPem } from '../../../common/pem.js';
import { createIssuingCa, createRootCa, createServerTlsCert } from '../../../server/ca/profiles.js';
import { generateSoftwareKey } from '../../../server/ca/software-key.js';
import { AedesBroker } from '../../../server/enroll/aedes-broker.js';
import { MqttBroker } from '../../../server/enroll/mqtt-broker.js';
import { createSoftSigner } from '../../helpers/soft-signer.js';
import { brokerSuite } from './broker.suite.js';

t.test('Broker suite: MqttBroker over the embedded aedes (in-process service streams, MQTT 3.1.1)', async (t) => {
  const rs = createSoftSigner();
  const root = await createRootCa({ signer: rs, org: 'Keyline Test' });
  const is = createSoftSigner();
  const issuing = await createIssuingCa({ root: { signer: rs, cert: root }, subjectSpki: await is.publicKeySpki(), org: 'Keyline Test' });
  const key = generateSoftwareKey();
  const cert = await createServerTlsCert({ issuer: { signer: is, cert: issuing }, org: 'Keyline Test', spki: key.spki });
  const issuingPem = toPem(new Uint8Array(issuing.rawData));
  const broker = await AedesBroker.start({
    host: '127.0.0.1', port: 0, tls: { key: key.privateKeyPem, cert: toPem(new Uint8Array(cert.rawData)) + issuingPem, ca: [toPem(new Uint8Array(root.rawData)), issuingPem] },
  });
  t.teardown(() => broker.close());
  await brokerSuite(t, () => MqttBroker.connect({ stream: () => broker.serviceStream(), protocolVersion: 4 }), { v5: false });
});
