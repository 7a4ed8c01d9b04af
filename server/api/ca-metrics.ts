/**
 * The CA lifetime gauges of GET /metrics (issue 19), from the same report as /health and
 * `keyline ca status`: per CA certificate its notAfter, days left, whether it issues, whether the
 * root revoked it and the warning threshold crossed (0 = none); the root CRL's next update.
 */
import type { CaReport, CaStatusReport } from '../services/ca-status.js';

const esc = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
const labels = (c: CaReport) => `{role="${c.role}",key_id="${c.keyId}",subject="${esc(c.subject)}"}`;

/** Prometheus exposition lines for a CA status report. */
export function caMetricLines(r: CaStatusReport): string[] {
  const out: string[] = [];
  const gauge = (name: string, help: string, rows: Array<[string, number]>) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} gauge`, ...rows.map(([l, v]) => `${name}${l} ${v}`));
  };
  gauge('keyline_ca_not_after_timestamp_seconds', 'CA certificate notAfter (Unix time).', r.cas.map((c) => [labels(c), Date.parse(c.notAfter) / 1000]));
  gauge('keyline_ca_remaining_days', 'Days until the CA certificate expires.', r.cas.map((c) => [labels(c), c.daysLeft]));
  gauge('keyline_ca_lifetime_warning_days', 'Smallest ca.lifetimeWarningDays threshold the remaining lifetime is under (0 = none).', r.cas.map((c) => [labels(c), c.warningDays ?? 0]));
  gauge('keyline_ca_active', '1 for the issuing CA that issues now.', r.cas.filter((c) => c.role === 'issuing').map((c) => [labels(c), c.active ? 1 : 0]));
  gauge('keyline_ca_revoked', '1 when the newest root CRL held lists the issuing CA.', r.cas.filter((c) => c.role === 'issuing').map((c) => [labels(c), c.revoked ? 1 : 0]));
  if (r.rootCrl) {
    gauge('keyline_root_crl_number', 'CRL Number of the newest root CRL held.', [['', r.rootCrl.number]]);
    gauge('keyline_root_crl_next_update_timestamp_seconds', 'nextUpdate of the newest root CRL held (Unix time).', [['', Date.parse(r.rootCrl.nextUpdate) / 1000]]);
    gauge('keyline_root_crl_warning', '1 within ca.rootCrlWarningDays of the root CRL\'s nextUpdate (re-sign it: keyline ceremony crl).', [['', r.rootCrl.warning ? 1 : 0]]);
  }
  gauge('keyline_ca_issuance_ok', '0 when nothing may issue (the active CA revoked, expired or not loaded).', [['', r.ok ? 1 : 0]]);
  return out;
}
