/**
 * Certificate serial numbers as Keyline compares and stores them (RFC 5280 §4.1.2.2 serials are
 * positive INTEGERs of at most 20 octets; their hex spellings vary in case and leading zeros).
 */

/** A certificate serial as stored: lowercase hex of the value without leading zeros. */
export function normaliseSerialHex(hex: string): string {
  return hex.toLowerCase().replace(/^0+(?=.)/, '');
}
