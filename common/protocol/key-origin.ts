/**
 * Key-origin evidence on the wire (issue 15): what a station sends with a unit's issue request to
 * show where the unit's key was made, one shape per chip (secure-element/secure-element.ts
 * AttestationEvidence), binary fields as lowercase hex. Defined once for the station, the server
 * and /v1/openapi.json.
 *
 * The freshness an SE050 signs is bound to the request it comes with: both ends compute it from
 * the serial, the work order and the idempotency key (attestationFreshness), so evidence made for
 * one request proves nothing for another. It is not a server challenge: what the evidence proves
 * (the key is a non-exportable key generated inside that chip) does not go stale, and a copy of it
 * can only ever vouch for the same key on the same chip, which the issuance rules already refuse
 * to certify twice.
 */
import { createHash } from 'node:crypto';
import { z } from 'zod';

const hexBytes = (min: number, max: number) =>
  z.string().regex(/^([0-9a-f]{2})+$/, 'lowercase hex, whole bytes').refine((s) => s.length >= 2 * min && s.length <= 2 * max, `${min}-${max} bytes`);

/** An SE050 attested ReadObject of the device key (reference/se050.md §6), as Se05xSecureElement.attest returns it. */
export const se050EvidenceWire = z
  .object({
    format: z.literal('se05x-attested-read'),
    /** The applet layout of the signed data. */
    applet: z.enum(['3.1', '7.2']),
    /** The attested object id (the device key, 20000001). */
    objectId: z.number().int().min(0).max(0xffffffff),
    /** The 16 bytes the chip signed with the data: attestationFreshness() of this request. */
    freshness: hexBytes(16, 16),
    /** The C-APDU as sent, without Le. */
    command: hexBytes(5, 300),
    /** The R-APDU's data (TLVs), without the status word. */
    response: hexBytes(16, 2048),
    /** The chip's attestation certificate (object F0000013), DER. */
    attestationCertificate: hexBytes(64, 4096),
  })
  .strict();

/** An ATECC608's report: its 128-byte config zone (serial, locks, the key slot's policy); nothing signs it. */
export const ateccEvidenceWire = z
  .object({
    format: z.literal('atecc608-unattested'),
    configZone: hexBytes(128, 128),
  })
  .strict();

/** Key-origin evidence of either chip. */
export const keyOriginEvidence = z.discriminatedUnion('format', [se050EvidenceWire, ateccEvidenceWire]);
/** Key-origin evidence as sent. */
export type KeyOriginEvidence = z.infer<typeof keyOriginEvidence>;

/** The context string hashed into the freshness (ASCII, no terminator). */
export const KEY_ORIGIN_CONTEXT = 'keyline-key-origin-v1';

/**
 * The 16 bytes of freshness for a unit's issue request: the first half of
 * SHA-256("keyline-key-origin-v1" ‖ 00 ‖ serial ‖ 00 ‖ workOrder ‖ 00 ‖ idempotencyKey ‖ 00),
 * strings as UTF-8, the serial in upper-case hex, an absent idempotency key as the empty string.
 */
export function attestationFreshness(r: { serial: string; workOrder: string; idempotencyKey: string | null }): Uint8Array {
  const h = createHash('sha256');
  for (const part of [KEY_ORIGIN_CONTEXT, r.serial.toUpperCase(), r.workOrder, r.idempotencyKey ?? '']) h.update(part, 'utf8').update(Buffer.of(0));
  return new Uint8Array(h.digest().subarray(0, 16));
}
