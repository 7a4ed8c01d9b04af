/**
 * POST /v1/revocations (and `keyline revoke`'s flags): what may be revoked and why, defined once
 * for the API, the CLI and the OpenAPI document.
 */
import { z } from 'zod';
import { CHIP_SERIAL_ANY_CASE_RE, CHIP_SERIAL_MESSAGE } from '../chip-serial.js';

/**
 * Reasons accepted (RFC 5280 §5.3.1). certificateHold is refused: a hold must be releasable and
 * Keyline has no release, so it would be a permanent revocation under a misleading name.
 */
export const REVOCATION_REASONS = ['unspecified', 'keyCompromise', 'cACompromise', 'affiliationChanged', 'superseded',
  'cessationOfOperation', 'privilegeWithdrawn', 'aACompromise'] as const;

/** Every RFC 5280 §5.3.1 reason a revocation record may carry (certificateHold only from elsewhere). */
export type RevocationReason = (typeof REVOCATION_REASONS)[number] | 'certificateHold';

/** The request body of POST /v1/revocations (and the CLI's flags): exactly one target and a reason. */
export const revocationRequest = z
  .object({
    serial: z.string().regex(CHIP_SERIAL_ANY_CASE_RE, `expected a chip serial: ${CHIP_SERIAL_MESSAGE}`).optional(),
    workOrder: z.string().min(1).max(128).optional(),
    certificateSerial: z.string().regex(/^(0x)?[0-9A-Fa-f]{1,40}$/, 'expected a hex certificate serial').optional(),
    reason: z.enum(REVOCATION_REASONS),
  })
  .strict()
  .refine((r) => [r.serial, r.workOrder, r.certificateSerial].filter((v) => v !== undefined).length === 1, {
    message: 'give exactly one of serial, workOrder, certificateSerial',
  });

/** A parsed revocation request. */
export type RevocationRequest = z.infer<typeof revocationRequest>;
