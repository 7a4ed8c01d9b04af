/**
 * Chip serials of the two secure elements Keyline provisions, defined once: the ATECC608's 9-byte
 * serial number (datasheet §2.2, SN[0:8]) and the SE050's 18-byte unique id (object 7FFF0206,
 * reference/se050.md §7), each written as upper-case hex: 18 digits and 36 digits. Every schema,
 * topic and cursor that names a unit takes its pattern from here, and a work order's chip says
 * which of the two lengths its units must have.
 */

/** The secure elements a product may carry. */
export const CHIP_KINDS = ['atecc608', 'se050'] as const;

/** One of CHIP_KINDS. */
export type ChipKind = (typeof CHIP_KINDS)[number];

/** Bytes of each chip's serial. */
export const SERIAL_BYTES: Readonly<Record<ChipKind, number>> = { atecc608: 9, se050: 18 };

/** A chip serial of either chip, upper-case hex (18 or 36 digits): the source of every pattern below. */
export const CHIP_SERIAL_HEX = '(?:[0-9A-F]{18}|[0-9A-F]{36})';

/** A whole string that is a chip serial in upper-case hex. */
export const CHIP_SERIAL_RE = new RegExp(`^${CHIP_SERIAL_HEX}$`);

/** The same, in either case (API input, normalised to upper case after). */
export const CHIP_SERIAL_ANY_CASE_RE = new RegExp(`^${CHIP_SERIAL_HEX}$`, 'i');

/** What a schema says when a serial does not match. */
export const CHIP_SERIAL_MESSAGE = '18 hex digits (ATECC608, 9-byte serial) or 36 hex digits (SE050, 18-byte unique id)';

/** The chip a serial of this many hex digits belongs to, or null for any other length. */
export function chipOfSerialHex(serialHex: string): ChipKind | null {
  return serialHex.length === 18 ? 'atecc608' : serialHex.length === 36 ? 'se050' : null;
}
