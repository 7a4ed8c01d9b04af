/**
 * Dates in compressed certificates and in X.509 (after cryptoauthlib's atcacert_date.c):
 * the 3-byte issue-date/expire-years encoding of bytes 64-66 with the format-1 extension bits in
 * byte 71, and the RFC 5280 UTCTime / GeneralizedTime text the template carries.
 */
import { KeylineError } from '../../common/errors.js';
import { DateFormat, type DateFormatCode } from './cert-def.js';

/** A calendar instant in UTC with explicit fields (month 1-12), free of JS Date pitfalls. */
export interface CertDate {
  year: number;
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
}

/** Compressed-certificate format versions (low nibble of byte 70). */
export const FormatVersion = { V0: 0, V1: 1, V2: 2 } as const;

/** The encoded dates of a compressed certificate. */
export interface CompDates {
  /** Bytes 64-66. */
  dates: Uint8Array;
  /** Byte 71 high nibble (format 1 only): issue-year bits 6-5 at 7-6, expire-years bits 6-5 at 5-4. */
  ext: number;
  /** 0 when the dates fit 2000-2031 and 0-31 years, else 1 (atcacert_get_comp_cert_ext rule). */
  formatVersion: 0 | 1;
}

const invalid = (msg: string): never => {
  throw new KeylineError('ATCACERT_INVALID', msg);
};

/** True when the fields name a real date (leap years per the Gregorian rule). */
export function isRealDate(d: CertDate): boolean {
  if (d.month < 1 || d.month > 12 || d.day < 1 || d.hour < 0 || d.hour > 23) return false;
  if (d.minute < 0 || d.minute > 59 || d.second < 0 || d.second > 59) return false;
  return d.day <= daysInMonth(d.year, d.month);
}

/** Days in a month of a year. */
export function daysInMonth(year: number, month: number): number {
  const leap = (year % 4 === 0 && year % 100 !== 0) || year % 400 === 0;
  return [31, leap ? 29 : 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31][month - 1]!;
}

/**
 * Encodes issue date and expire years as atcacert_date_enc_compcert_ext does:
 * year-2000 (5) | month (4) | day (5) | hour (5) | expire years (5), MSB first; minutes and seconds
 * must be zero. Format 1 extends to 2127 and 127 years with two more bits each in byte 71.
 */
export function encodeCompDates(issue: CertDate, expireYears: number): CompDates {
  const y = issue.year - 2000;
  if (y < 0 || y > 127) invalid(`issue year ${issue.year} outside 2000-2127`);
  if (!Number.isInteger(expireYears) || expireYears < 0 || expireYears > 127) invalid(`expire years ${expireYears} outside 0-127`);
  if (!isRealDate(issue) || issue.minute !== 0 || issue.second !== 0) invalid(`issue date ${formatIso(issue)} is not a date on the hour`);
  const formatVersion = y > 31 || expireYears > 31 ? 1 : 0;
  const dates = Uint8Array.of(
    ((y & 0x1f) << 3) | (issue.month >> 1),
    ((issue.month & 1) << 7) | (issue.day << 2) | (issue.hour >> 3),
    ((issue.hour & 0x07) << 5) | (expireYears & 0x1f),
  );
  const ext = formatVersion ? ((y & 0x60) << 1) | ((expireYears & 0x60) >> 1) : 0;
  return { dates, ext, formatVersion };
}

/** Decodes bytes 64-66 (+ byte 71 for format 1) back to issue date and expire years. */
export function decodeCompDates(comp: Uint8Array): { issue: CertDate; expireYears: number } {
  const format = comp[70]! & 0x0f;
  const ext = format === 0 ? 0 : comp[71]!;
  const year = 2000 + (((ext & 0xc0) >> 1) | (comp[64]! >> 3));
  const issue: CertDate = {
    year,
    month: ((comp[64]! & 0x07) << 1) | (comp[65]! >> 7),
    day: (comp[65]! & 0x7c) >> 2,
    hour: ((comp[65]! & 0x03) << 3) | (comp[66]! >> 5),
    minute: 0,
    second: 0,
  };
  if (!isRealDate(issue)) invalid(`compressed issue date ${formatIso(issue)} is not a real date`);
  return { issue, expireYears: (comp[66]! & 0x1f) | ((ext & 0x30) << 1) };
}

/** The "no expiration" date a format stands for (atcacert_date_get_max_date; RFC 5280 §4.1.2.5). */
export function maxDate(format: DateFormatCode): CertDate {
  if (format === DateFormat.RFC5280_UTC) return { year: 2049, month: 12, day: 31, hour: 23, minute: 59, second: 59 };
  if (format === DateFormat.RFC5280_GEN) return { year: 9999, month: 12, day: 31, hour: 23, minute: 59, second: 59 };
  throw new KeylineError('NOT_SUPPORTED', `date format ${format} is not supported (only RFC 5280 UTC and GEN)`);
}

/** The expire date atcacert derives: same month/day/hour N years on, or the format's max date for 0. */
export function expireDate(issue: CertDate, expireYears: number, format: DateFormatCode): CertDate {
  return expireYears === 0 ? maxDate(format) : { ...issue, year: issue.year + expireYears };
}

/** Size in bytes of a date element in `format`. */
export function dateSize(format: DateFormatCode): number {
  if (format === DateFormat.RFC5280_UTC) return 13;
  if (format === DateFormat.RFC5280_GEN) return 15;
  throw new KeylineError('NOT_SUPPORTED', `date format ${format} is not supported (only RFC 5280 UTC and GEN)`);
}

/** Writes `d` as ASCII in `format` into `out` at `offset` (RFC 5280 §4.1.2.5.1/§4.1.2.5.2, seconds, Z). */
export function writeDate(format: DateFormatCode, d: CertDate, out: Uint8Array, offset: number): void {
  let at = offset;
  const put = (n: number, width: number): void => {
    for (let i = width - 1; i >= 0; i--) {
      out[at + i] = 0x30 + (n % 10);
      n = Math.floor(n / 10);
    }
    at += width;
  };
  if (format === DateFormat.RFC5280_UTC) {
    // UTCTime covers 1950-2049 only (RFC 5280 §4.1.2.5.1).
    if (d.year < 1950 || d.year > 2049) invalid(`year ${d.year} cannot be written as UTCTime`);
    put(d.year % 100, 2);
  } else if (format === DateFormat.RFC5280_GEN) {
    if (d.year < 0 || d.year > 9999) invalid(`year ${d.year} cannot be written as GeneralizedTime`);
    put(d.year, 4);
  } else {
    dateSize(format);
  }
  put(d.month, 2);
  put(d.day, 2);
  put(d.hour, 2);
  put(d.minute, 2);
  put(d.second, 2);
  out[at] = 0x5a; // 'Z'
}

/** Reads a date element in `format` at `offset`; refuses anything but digits and a final Z. */
export function readDate(format: DateFormatCode, buf: Uint8Array, offset: number): CertDate {
  const size = dateSize(format);
  let at = offset;
  const num = (width: number): number => {
    let n = 0;
    for (let i = 0; i < width; i++) {
      const c = buf[at + i]!;
      if (c < 0x30 || c > 0x39) invalid(`date at offset ${offset} has a non-digit`);
      n = n * 10 + c - 0x30;
    }
    at += width;
    return n;
  };
  let year: number;
  if (format === DateFormat.RFC5280_UTC) {
    const yy = num(2);
    year = yy < 50 ? 2000 + yy : 1900 + yy;
  } else {
    year = num(4);
  }
  const d: CertDate = { year, month: num(2), day: num(2), hour: num(2), minute: num(2), second: num(2) };
  if (buf[offset + size - 1] !== 0x5a) invalid(`date at offset ${offset} does not end in Z`);
  if (!isRealDate(d)) invalid(`date at offset ${offset} (${formatIso(d)}) is not a real date`);
  return d;
}

/** Compares two dates field by field; negative, zero or positive. */
export function compareDates(a: CertDate, b: CertDate): number {
  return a.year - b.year || a.month - b.month || a.day - b.day || a.hour - b.hour || a.minute - b.minute || a.second - b.second;
}

/** The CertDate of a JS Date (UTC fields). */
export function fromJsDate(d: Date): CertDate {
  return {
    year: d.getUTCFullYear(),
    month: d.getUTCMonth() + 1,
    day: d.getUTCDate(),
    hour: d.getUTCHours(),
    minute: d.getUTCMinutes(),
    second: d.getUTCSeconds(),
  };
}

/** The JS Date of a CertDate. */
export function toJsDate(d: CertDate): Date {
  const js = new Date(Date.UTC(d.year, d.month - 1, d.day, d.hour, d.minute, d.second));
  js.setUTCFullYear(d.year); // Date.UTC maps years 0-99 to 1900-1999
  return js;
}

/** ISO 8601 text of a date, for messages. */
export function formatIso(d: CertDate): string {
  const p = (n: number, w = 2): string => String(n).padStart(w, '0');
  return `${p(d.year, 4)}-${p(d.month)}-${p(d.day)}T${p(d.hour)}:${p(d.minute)}:${p(d.second)}Z`;
}
