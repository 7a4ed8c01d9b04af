/**
 * A device on aws-iot-device-sdk-v2's MQTT 5 client (Mqtt5Client + IotIdentityClientv2.newFromMqtt5)
 * running CreateCertificateFromCsr then RegisterThing, in a process of its own: aws-crt frees an
 * MQTT 5 client's native threads only when a garbage collection finalizes it, which kept the test
 * process alive for a minute or more after its last test. Reads one JSON request on argv[2],
 * prints one JSON answer and exits.
 */
import { iot, iotidentity, mqtt5 } from 'aws-iot-device-sdk-v2';

/** What the test asks for. */
export interface Mqtt5DeviceRequest {
  port: number;
  certPem: string;
  keyPem: string;
  caPem: string;
  clientId: string;
  csrPem: string;
  templateName: string;
}

const req = JSON.parse(process.argv[2]!) as Mqtt5DeviceRequest;
const config = iot.AwsIotMqtt5ClientConfigBuilder.newDirectMqttBuilderWithMtlsFromMemory('localhost', req.certPem, req.keyPem)
  .withPort(req.port).withCertificateAuthority(req.caPem).withConnectProperties({ clientId: req.clientId, keepAliveIntervalSeconds: 60 }).build();
const client = new mqtt5.Mqtt5Client(config);
try {
  const connected = new Promise<void>((resolve, reject) => {
    client.once('connectionSuccess', () => resolve());
    client.once('connectionFailure', (e) => reject(e.error));
  });
  client.start();
  await connected;
  const id = iotidentity.IotIdentityClientv2.newFromMqtt5(client, { maxRequestResponseSubscriptions: 4, maxStreamingSubscriptions: 0, operationTimeoutInSeconds: 10 });
  const created = await id.createCertificateFromCsr({ certificateSigningRequest: req.csrPem });
  const thing = await id.registerThing({ templateName: req.templateName, certificateOwnershipToken: created.certificateOwnershipToken!, parameters: {} });
  process.stdout.write(JSON.stringify({ created, thing }) + '\n');
  process.exit(0);
} catch (err) {
  process.stdout.write(JSON.stringify({ error: String(err), modeledError: (err as { modeledError?: unknown }).modeledError }) + '\n');
  process.exit(1);
}
