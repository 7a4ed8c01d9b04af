/**
 * Keyline's SE050 object map (documented in ../SE050-OBJECT-MAP.md): which object id holds what
 * and the policy each is created with. The SE050 analogue of slot-map.ts.
 */
import { Ar } from '../../common/se05x/applet-constants.js';
import { anySessionPolicy, type PolicyEntry } from '../../common/se05x/policy.js';

/** Object ids in the customer range (00000001..7BFFFFFF). */
export const Se050Object = {
  /** Device key, P-256, generated inside the chip. */
  DEVICE_KEY: 0x20000001,
  /** Device certificate, DER, whole. */
  DEVICE_CERT: 0x20000002,
  /** First chain certificate (the issuing CA), DER. */
  CHAIN_FIRST: 0x20000003,
  /** Enrollment counter, 4 bytes. */
  ENROLLMENT_COUNTER: 0x20000004,
  /** Further chain certificates: CHAIN_MORE + i for chain[1 + i]. */
  CHAIN_MORE: 0x20000010,
} as const;

/** Most chain certificates stored (issuing CA plus up to 3 more). */
export const MAX_CHAIN = 4;

/** The object holding chain certificate `i` (0 = issuing CA). */
export function chainObjectId(i: number): number {
  return i === 0 ? Se050Object.CHAIN_FIRST : Se050Object.CHAIN_MORE + i - 1;
}

/** Bytes of the enrollment counter. */
export const COUNTER_SIZE = 4;

/**
 * The policies objects are created with (immutable after). Device key: SIGN and READ (public
 * part only) for any session: no VERIFY, no WRITE/GEN (never replaced), no DELETE, no
 * IMPORT_EXPORT (never leaves). Certificates: READ only, written whole by the creating write.
 * Counter: READ and WRITE (an increment is a write; the applet never lets it go down).
 */
export const Se050Policy: Readonly<Record<'deviceKey' | 'certificate' | 'counter', PolicyEntry[]>> = {
  deviceKey: anySessionPolicy(Ar.SIGN | Ar.READ),
  certificate: anySessionPolicy(Ar.READ),
  counter: anySessionPolicy(Ar.READ | Ar.WRITE),
};
