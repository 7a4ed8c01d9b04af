/**
 * Which devices may connect to the embedded broker without a client certificate, known only by
 * their client id (issue 11 hole 4). A client id is *bound* to certificate authentication once
 * its device has connected with its certificate (or enrolled over mTLS): from then on nobody
 * may use that id without the certificate. A hook with a safe default, as aedes' `authorize*`:
 * without one, every certificate-less connection is refused.
 */
import type { Store } from '../store/store.js';

/** What may become of a certificate-less connection with this serial as client id. */
export type ClientIdStanding =
  /** A provisioned unit not bound to its certificate: admitted (the signed challenge proves it). */
  | 'admit'
  /** No unit with this serial: refused, so arbitrary 18-hex ids get nowhere. */
  | 'unknown'
  /** The serial is bound to certificate authentication: refused without the certificate. */
  | 'bound';

/** The admission hooks of the embedded broker. */
export interface DeviceAdmission {
  /** The standing of a certificate-less connection claiming `serial`. */
  clientIdStanding(serial: string): Promise<ClientIdStanding>;
  /** Records, durably, that `serial` authenticated with its certificate (idempotent). */
  bindCertificate(serial: string): Promise<void>;
}

/** The default: no certificate-less device is admitted, and bindings live nowhere else. */
export const refuseClientIds: DeviceAdmission = {
  clientIdStanding: async () => 'unknown',
  bindCertificate: async () => undefined,
};

/**
 * The store-backed admission (the server's): a unit must exist; it is bound when the broker
 * recorded a certificate connection (broker_bindings, migration 007) or its enrollment record
 * says mTLS. Units in any status are admitted, so that an unconfirmed or revoked device learns
 * why from the service's answer (UNIT_NOT_CONFIRMED, DEVICE_REVOKED): a 3.1.1 CONNACK carries
 * no reason, and such a connection can obtain nothing else.
 */
export function storeAdmission(store: Store, now: () => Date = () => new Date()): DeviceAdmission {
  return {
    clientIdStanding: (serial) => store.transaction(async (tx): Promise<ClientIdStanding> => {
      if (!(await tx.units.getBySerial(serial))) return 'unknown';
      if ((await tx.enrollment.certificateBinding(serial)) !== null) return 'bound';
      return (await tx.enrollment.get(serial))?.method === 'mtls' ? 'bound' : 'admit';
    }, { readOnly: true }),
    bindCertificate: (serial) => store.transaction((tx) => tx.enrollment.bindCertificate(serial, now().toISOString())),
  };
}

/**
 * `inner` with the bindings of this process remembered: a bound serial is refused without a
 * database read, and a device reconnecting with its certificate costs no write. At most `max`
 * serials are kept (the oldest forgotten first; the database still has them).
 */
export function withBindingCache(inner: DeviceAdmission, max = 100_000): DeviceAdmission {
  const bound = new Set<string>();
  return {
    async clientIdStanding(serial) {
      return bound.has(serial) ? 'bound' : inner.clientIdStanding(serial);
    },
    async bindCertificate(serial) {
      if (bound.has(serial)) return;
      await inner.bindCertificate(serial);
      bound.add(serial);
      if (bound.size > max) bound.delete(bound.values().next().value!);
    },
  };
}
