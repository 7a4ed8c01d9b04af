/**
 * The clouds' official device clients as the cloud-protocol tests build them (issue 16), each
 * unmodified and pointed at Keyline with only its host, port and trust root changed (../shared/
 * reference/cloud-provisioning.md §10): Microsoft's DPS client (azure-iot-provisioning-device +
 * -mqtt + azure-iot-security-x509) and AWS's IotIdentityClientv2 over MQTT 3.1.1.
 */
import { createRequire } from 'node:module';
import type { EventEmitter } from 'node:events';
import type { Test } from 'tap';
import { iot, iotidentity, mqtt as awsMqtt } from 'aws-iot-device-sdk-v2';
import { DEV_ID_SCOPE } from '../../server/ceremony/dev-config.js';

const require = createRequire(import.meta.url);
// The Azure packages are CommonJS without types for these entry points.
const { ProvisioningDeviceClient } = require('azure-iot-provisioning-device') as { ProvisioningDeviceClient: { create(host: string, scope: string, transport: unknown, security: unknown): DpsClient } };
const { Mqtt } = require('azure-iot-provisioning-device-mqtt') as { Mqtt: new (base?: unknown) => EventEmitter };
const { X509Security } = require('azure-iot-security-x509') as { X509Security: new (id: string, cert: { cert: string; key: string }) => unknown };
const { MqttBase } = require('azure-iot-mqtt-base') as { MqttBase: new () => { setOptions(o: { ca: string }): void } };

/** The part of ProvisioningDeviceClient the tests use. */
export interface DpsClient {
  setProvisioningPayload(p: unknown): void;
  register(): Promise<Record<string, unknown>>;
}

/** Microsoft's DPS device client for `dev` (chain + key), as the SDK's samples build it, with Keyline's host, port and root. */
export function dpsClient(port: number, rootPem: string, dev: { serial: string; chainPem: string; keyPem: string }, o: { scope?: string; registrationId?: string } = {}): DpsClient {
  const base = new MqttBase();
  base.setOptions({ ca: rootPem });
  const security = new X509Security(o.registrationId ?? dev.serial, { cert: dev.chainPem, key: dev.keyPem });
  const transport = new Mqtt(base);
  // As an application does: a connection lost between two steps is reported here (without a
  // listener it would end the process); the client reconnects for its next step by itself.
  transport.on('error', () => undefined);
  return ProvisioningDeviceClient.create(`localhost:${port}`, o.scope ?? DEV_ID_SCOPE, transport, security);
}

/** AWS's identity client over MQTT 3.1.1, built as AWS's fleet provisioning sample builds it; closed at teardown. */
export async function fleetIdentityClient(t: Test, port: number, rootPem: string, cert: string, key: string, clientId: string): Promise<iotidentity.IotIdentityClientv2> {
  const config = iot.AwsIotMqttConnectionConfigBuilder.new_mtls_builder(cert, key)
    .with_endpoint('localhost').with_port(port).with_certificate_authority(rootPem).with_client_id(clientId).with_clean_session(true).build();
  const connection = new awsMqtt.MqttClient().new_connection(config);
  // A refused connection is freed at once (its native resources would keep the process alive).
  await connection.connect().catch(async (err: unknown) => {
    await connection.disconnect().catch(() => undefined);
    throw err;
  });
  const identity = iotidentity.IotIdentityClientv2.newFromMqtt311(connection, { maxRequestResponseSubscriptions: 4, maxStreamingSubscriptions: 0, operationTimeoutInSeconds: 10 });
  t.teardown(async () => {
    identity.close();
    await connection.disconnect();
  });
  return identity;
}
