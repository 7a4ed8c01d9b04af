/**
 * The AWS Fleet Provisioning endpoint's session policy: any client id, the SDK's metrics username
 * ignored, the device known by its line certificate; subscriptions inside the API's reply tree;
 * each request answered exactly once, on its `/accepted` or `/rejected` topic, to the asking
 * connection only (the API carries no correlation token: the client takes the first message on
 * either topic as its answer).
 */
import { KeylineError } from '../../../common/errors.js';
import type { Logger } from '../../../common/log.js';
import { authenticateDevice, type DeviceConnectDeps, type DevicePeer } from '../mqtt-endpoint/device-connect.js';
import type { SessionPolicy } from '../mqtt-endpoint/mqtt-session.js';
import { fleetRejection, invalidPayload, type FleetRejection } from './fleet-errors.js';
import type { FleetService } from './fleet-service.js';
import { csrOf, decodeFleetBody, encodeFleetBody, fleetRequestTopic, isFleetReplyFilter, parseFleetTopic, registerThingOf, type FleetRequest } from './fleet-wire.js';

/** What the endpoint needs. */
export interface FleetEndpointDeps extends DeviceConnectDeps {
  service: FleetService;
  log?: Logger;
}

type Answer = { kind: 'accepted'; body: Record<string, string | Record<string, string>> } | { kind: 'rejected'; body: FleetRejection };

/** The session policy of the AWS Fleet Provisioning listener (MQTT 3.1.1 and 5). */
export function fleetSessionPolicy(d: FleetEndpointDeps): SessionPolicy<DevicePeer> {
  async function answer(device: DevicePeer, clientId: string, req: FleetRequest, payload: Buffer): Promise<Answer> {
    const decoded = decodeFleetBody(req.format, payload);
    if ('invalid' in decoded) return { kind: 'rejected', body: invalidPayload(decoded.invalid) };
    const body = decoded.body;
    switch (req.api) {
      case 'create':
        // Keys are generated in the secure element and never leave it.
        return { kind: 'rejected', body: fleetRejection(new KeylineError('PROVISIONING_DENIED', 'CreateKeysAndCertificate is not offered: device keys never leave the secure element; use CreateCertificateFromCsr')) };
      case 'create-from-csr': {
        const csr = csrOf(body);
        if (typeof csr !== 'string') return { kind: 'rejected', body: invalidPayload(csr.invalid) };
        return { kind: 'accepted', body: { ...(await d.service.createCertificateFromCsr(device, csr)) } };
      }
      case 'provision': {
        const r = registerThingOf(body);
        if ('invalid' in r) return { kind: 'rejected', body: r.tokenInvalid ? { statusCode: 400, errorCode: 'InvalidCertificateOwnershipToken', errorMessage: r.invalid } : invalidPayload(r.invalid) };
        const thing = await d.service.registerThing(device, { templateName: req.templateName, token: r.token, parameters: r.parameters, clientId });
        return { kind: 'accepted', body: { deviceConfiguration: thing.deviceConfiguration, thingName: thing.thingName } };
      }
    }
  }

  return {
    versions: [4, 5],
    // AWS accepts any client id and reads the username only for SDK metrics.
    connect: (_packet, peer) => authenticateDevice(peer, d).then((r) => ('refuse' in r ? r : { id: r })),
    maySubscribe: (_id, filter) => isFleetReplyFilter(filter),
    accepts: (topic) => parseFleetTopic(topic) !== null,
    onRequest(session, topic, payload) {
      const req = parseFleetTopic(topic)!;
      const device = session.id!;
      answer(device, session.clientId, req, payload)
        .catch((err: unknown): Answer => {
          const body = fleetRejection(err);
          if (body.statusCode >= 500) d.log?.error({ serial: device.serial, api: req.api, err }, 'fleet provisioning request failed');
          return { kind: 'rejected', body };
        })
        .then((a) => {
          d.log?.info({ serial: device.serial, api: req.api, answer: a.kind, ...(a.kind === 'rejected' ? { errorCode: a.body.errorCode } : {}) }, 'fleet provisioning answer');
          session.publish(`${fleetRequestTopic(req)}/${a.kind}`, encodeFleetBody(req.format, a.body));
        })
        .catch((err: unknown) => d.log?.error({ serial: device.serial, err }, 'fleet provisioning reply could not be sent'));
    },
  };
}
