/**
 * `keyline station report`: the journal's per-unit log as CSV (RFC 4180), for the factory's
 * records and for reconciling with the server's unit list.
 */
import { writeFileSync } from 'node:fs';
import type { Journal, UnitRecord } from './journal.js';

/** The CSV columns, in order. */
export const REPORT_COLUMNS = [
  'serial', 'work_order', 'station', 'status', 'step', 'reason', 'possible_clone',
  'fingerprint_sha256', 'certificate_serial', 'public_key', 'created_at', 'updated_at', 'confirmed_at',
] as const;

/** Quotes a field when it holds a comma, a quote or a line break (RFC 4180 §2.6-2.7). */
export function csvField(value: string | number | boolean | null): string {
  const s = value === null ? '' : String(value);
  return /[",\r\n]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

function row(u: UnitRecord): string {
  return [
    u.serial, u.workOrder, u.station, u.status, u.step, u.reason, u.possibleClone ? 1 : 0,
    u.fingerprintSha256, u.certificateSerial, u.publicKey, u.createdAt, u.updatedAt, u.confirmedAt,
  ].map(csvField).join(',');
}

/** The journal as CSV text (header line first, CRLF line ends as RFC 4180 asks). */
export function journalCsv(journal: Journal, workOrder?: string): { csv: string; count: number } {
  const units = journal.list().filter((u) => workOrder === undefined || u.workOrder === workOrder);
  const lines = [REPORT_COLUMNS.join(','), ...units.map(row)];
  return { csv: lines.join('\r\n') + '\r\n', count: units.length };
}

/** Writes the report to `out` (a file) or to `stdout`; returns the number of units. */
export function writeReport(journal: Journal, opts: { out?: string; workOrder?: string; stdout: { write(s: string): unknown } }): number {
  const { csv, count } = journalCsv(journal, opts.workOrder);
  if (opts.out) writeFileSync(opts.out, csv);
  else opts.stdout.write(csv);
  return count;
}
