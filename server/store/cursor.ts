/**
 * The opaque paging cursor of units.list, the same in both stores: the last serial of a page,
 * base64url-encoded, refused with a clear error when it is not one this server issued.
 */
import { CHIP_SERIAL_RE } from '../../common/chip-serial.js';
import { ValidationError } from '../../common/errors.js';

/** Encodes the last serial of a page as an opaque cursor. */
export function encodeCursor(serial: string): string {
  return Buffer.from(serial, 'utf8').toString('base64url');
}

/** The serial a cursor stands for ('' for none); VALIDATION_FAILED when it is not a cursor. */
export function decodeCursor(cursor: string | undefined): string {
  if (cursor === undefined || cursor === '') return '';
  const serial = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!CHIP_SERIAL_RE.test(serial)) throw new ValidationError('VALIDATION_FAILED', `cursor: '${cursor}' is not a cursor this server issued`);
  return serial;
}
