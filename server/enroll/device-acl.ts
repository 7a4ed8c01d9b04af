/**
 * Topic policy for device clients (pure functions, used by the embedded broker's hooks and
 * mirrored by the Mosquitto ACL in acl.ts): a device publishes only its own request topics
 * (`enroll/req`, and `enroll/mtls` only when the broker verified its certificate), never the
 * server's answers or anything else (issue 11: a device's "own" subtree held a 50 MB retained
 * message), and subscribes only below its own `keyline/v1/devices/{serial}/`.
 */
import { TOPIC_ROOT, enrollMtlsTopic, enrollRequestTopic } from '../../common/protocol/enrollment.js';

/** Who a broker connection is. */
export type ClientIdentity =
  | { kind: 'service' }
  /** A device whose client certificate chained to this PKI; serial = its subject CN. */
  | { kind: 'certificate'; serial: string }
  /** A device without a client certificate, known only by its client id (the signed challenge proves it). */
  | { kind: 'client-id'; serial: string };

/** True when `identity` may publish on `topic`. */
export function mayPublish(identity: ClientIdentity, topic: string): boolean {
  if (identity.kind === 'service') return true;
  if (topic === enrollRequestTopic(identity.serial)) return true;
  return topic === enrollMtlsTopic(identity.serial) && identity.kind === 'certificate';
}

/** True when `identity` may subscribe to `filter` (wildcards only below its own serial level). */
export function maySubscribe(identity: ClientIdentity, filter: string): boolean {
  if (identity.kind === 'service') return true;
  const own = `${TOPIC_ROOT}/${identity.serial}`;
  // `keyline/v1/devices/+/…`, `#` and `$share/…` all fail here: the serial level must be literal.
  return filter === `${own}/#` || filter.startsWith(`${own}/`);
}
