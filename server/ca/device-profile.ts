/**
 * The device certificate profile's validity rule: notBefore on the hour, notAfter whole years later
 * or "no well-defined expiration" (RFC 5280 §4.1.2.5, 99991231235959Z), exactly what the 3-byte
 * date field of a compressed certificate can carry (2000-2127, 0-127 years).
 */
import { ValidationError } from '../../common/errors.js';
import { type CertDate, daysInMonth, fromJsDate, toJsDate } from '../../secure-element/atcacert/date.js';

/** A device certificate's validity, in the forms the template and the caller need. */
export interface DeviceValidity {
  /** notBefore as certificate fields (minutes and seconds zero). */
  issue: CertDate;
  /** 0 = no expiration. */
  expireYears: number;
  notBefore: Date;
  /** null for 99991231235959Z. */
  notAfter: Date | null;
}

/** Checks a validity in years against the compressed format's range (0-127). */
export function checkValidityYears(years: number): void {
  if (!Number.isInteger(years) || years < 0 || years > 127) {
    throw new ValidationError('VALIDATION_FAILED', `validityYears must be a whole number 0-127, got ${years}`, { detail: { field: 'validityYears', value: years } });
  }
}

/** Computes notBefore/notAfter for a certificate issued at `issuedAt`, valid `years` whole years. */
export function deviceValidity(issuedAt: Date, years: number): DeviceValidity {
  checkValidityYears(years);
  if (Number.isNaN(issuedAt.getTime())) throw new ValidationError('VALIDATION_FAILED', 'issuedAt is not a valid date', { detail: { field: 'issuedAt' } });
  const issue: CertDate = { ...fromJsDate(issuedAt), minute: 0, second: 0 };
  // atcacert rebuilds notAfter as the same month, day and hour N years on; from 29 February that
  // names a day that does not exist unless the target year is a leap year. Start such certificates
  // one day earlier (28 February 23:00): an earlier notBefore only widens validity by hours.
  if (years > 0 && issue.month === 2 && issue.day === 29 && daysInMonth(issue.year + years, 2) === 28) {
    issue.day = 28;
    issue.hour = 23;
  }
  if (issue.year < 2000 || issue.year > 2127) {
    throw new ValidationError('VALIDATION_FAILED', `issuedAt year ${issue.year} is outside 2000-2127, the compressed certificate's range`, {
      detail: { field: 'issuedAt', value: issuedAt.toISOString() },
    });
  }
  return {
    issue,
    expireYears: years,
    notBefore: toJsDate(issue),
    notAfter: years === 0 ? null : toJsDate({ ...issue, year: issue.year + years }),
  };
}
