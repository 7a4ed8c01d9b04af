/**
 * Status bytes the ATECC608 answers in a 4-byte response, and the opcodes it knows
 * (values as in cryptoauthlib's calib_command.h and atca_status.h).
 */

/** Device status codes: the one table in secure-element/status.ts (the host maps the same bytes). */
export { Status } from '../../secure-element/status.js';

/** Opcodes: the one table in secure-element/opcodes.ts (datasheet §9). */
export { Opcode } from '../../secure-element/opcodes.js';

/** What a command handler returns: response data bytes, or a status byte for a 4-byte status response. */
export type CommandResult = Uint8Array | number;
