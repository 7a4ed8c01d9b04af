/**
 * The DPS endpoint's session policy: CONNECT is a DPS registration username for this ID scope,
 * with client id = registrationId = the certificate's CN (CONNACK 5 otherwise); the one
 * subscription `$dps/registrations/res/#`; register and poll requests handed to the registrations
 * (dps-registrations.ts) and each reply written to the asking connection only, on its
 * `$dps/registrations/res/{status}/?$rid=…` topic with the request's `$rid`.
 */
import type { Logger } from '../../../common/log.js';
import { authenticateDevice, type DeviceConnectDeps, type DevicePeer } from '../mqtt-endpoint/device-connect.js';
import type { SessionPolicy } from '../mqtt-endpoint/mqtt-session.js';
import type { DpsRegistrations } from './dps-registrations.js';
import { dpsError, type DpsReply } from './dps-replies.js';
import { DPS_RESPONSE_FILTER, dpsResponseTopic, parseDpsTopic, parseDpsUsername, parseRegisterBody } from './dps-wire.js';

/** What the DPS endpoint needs. */
export interface DpsEndpointDeps extends DeviceConnectDeps {
  idScope: string;
  registrations: DpsRegistrations;
  now?: () => Date;
  log?: Logger;
}

/** The session policy of the DPS listener (MQTT 3.1.1 only, as DPS). */
export function dpsSessionPolicy(d: DpsEndpointDeps): SessionPolicy<DevicePeer> {
  const now = d.now ?? (() => new Date());
  return {
    versions: [4],

    async connect(packet, peer) {
      const u = parseDpsUsername(packet.username);
      if (!u) return { refuse: 5, reason: `username '${packet.username ?? ''}' is not {idScope}/registrations/{registrationId}/api-version=…` };
      if (u.idScope !== d.idScope) return { refuse: 5, reason: `unknown ID scope '${u.idScope}'` };
      if (u.registrationId !== packet.clientId) return { refuse: 5, reason: `client id '${packet.clientId}' is not the username's registrationId '${u.registrationId}'` };
      const device = await authenticateDevice(peer, d);
      if ('refuse' in device) return device;
      // DPS X.509 attestation: the registration ID is the leaf's CN (registration IDs compare without case).
      if (device.serial.toLowerCase() !== u.registrationId.toLowerCase()) return { refuse: 5, reason: `registrationId '${u.registrationId}' is not the certificate's CN ${device.serial}` };
      return { id: device };
    },

    maySubscribe: (_id, filter) => filter === DPS_RESPONSE_FILTER,

    accepts: (topic) => parseDpsTopic(topic) !== null,

    onRequest(session, topic, payload) {
      const req = parseDpsTopic(topic)!;
      const device = session.id!;
      const answer = async (): Promise<DpsReply> => {
        if (req.kind === 'poll') return d.registrations.poll(device, req.operationId);
        const body = parseRegisterBody(payload);
        if ('invalid' in body) return dpsError(400, 4, body.invalid, now());
        if (body.registrationId.toLowerCase() !== device.serial.toLowerCase()) return dpsError(400, 4, `registrationId '${body.registrationId}' is not this connection's ${device.serial}`, now());
        return d.registrations.register(device, body.payload);
      };
      answer()
        .catch((err: unknown) => {
          d.log?.error({ serial: device.serial, err }, 'dps request failed');
          return dpsError(500, 0, 'internal error; retry later', now(), 5);
        })
        .then((r) => {
          d.log?.info({ serial: device.serial, request: req.kind, status: r.status, ...(r.status === 200 ? { result: r.body.status } : {}) }, 'dps answer');
          session.publish(dpsResponseTopic(r.status, req.rid, r.retryAfterSeconds), Buffer.from(JSON.stringify(r.body)));
        })
        .catch((err: unknown) => d.log?.error({ serial: device.serial, err }, 'dps reply could not be sent'));
    },
  };
}
