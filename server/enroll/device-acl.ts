/**
 * Topic policy for device clients (pure functions, used by the embedded broker's hooks and
 * mirrored by the Mosquitto ACL in acl.ts): a device reaches only its own subtree
 * `keyline/v1/devices/{serial}/`, never publishes the server's answers, and may use the mTLS
 * shortcut topic only when the broker verified its certificate.
 */
import { TOPIC_ROOT, enrollMtlsTopic, enrollResponseTopic } from '../../common/protocol/enrollment.js';

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
  if (!topic.startsWith(`${TOPIC_ROOT}/${identity.serial}/`)) return false;
  if (topic === enrollResponseTopic(identity.serial)) return false;
  if (topic === enrollMtlsTopic(identity.serial)) return identity.kind === 'certificate';
  return true;
}

/** True when `identity` may subscribe to `filter` (wildcards only below its own serial level). */
export function maySubscribe(identity: ClientIdentity, filter: string): boolean {
  if (identity.kind === 'service') return true;
  const own = `${TOPIC_ROOT}/${identity.serial}`;
  // `keyline/v1/devices/+/…`, `#` and `$share/…` all fail here: the serial level must be literal.
  return filter === `${own}/#` || filter.startsWith(`${own}/`);
}
