/**
 * Audit: the chain's standing (verified up to which head, when, and when it was last walked from
 * the start), a full walk on request, the newest records, and the export (NDJSON).
 */
import type { AuditStatus } from '../../audit/audit-monitor.js';
import type { AuditRecord } from '../../store/store.js';
import { html, time, type Html } from '../html.js';
import { page, type PageContext } from '../layout.js';

/** The page. */
export function auditPage(c: PageContext, s: AuditStatus, newest: readonly AuditRecord[]): Html {
  return page(c, 'audit', 'Audit', html`
    <section aria-labelledby="chain-h"><h2 id="chain-h">Hash chain</h2>
      <p class="gate gate-${s.ok ? 'go' : 'nogo'}" id="chain-status"><strong>${s.ok ? 'Intact' : 'BROKEN'}</strong>${s.ok ? `: ${s.count} records verified` : html`: at record #${s.broken?.seq}: ${s.broken?.reason}`}</p>
      <dl class="facts"><dt>Last verified head</dt><dd class="mono wrap">${s.head ? html`#${s.head.seq} ${s.head.hash}` : 'empty log'}</dd>
        <dt>Verified</dt><dd>${time(s.verifiedAt)} (records since the last check)</dd><dt>Whole chain walked</dt><dd>${time(s.fullWalkAt)}</dd></dl>
      <p class="help">Keep the head's hash somewhere else: it is what shows a truncated log.</p>
      <p><a class="button" href="/console/audit?full=1">Walk the whole chain again</a> <a class="button" href="/console/audit/export" download>Export the log (NDJSON)</a></p></section>
    <section aria-labelledby="newest-h"><h2 id="newest-h">Newest records</h2><div class="table-wrap"><table>
      <thead><tr><th scope="col">#</th><th scope="col">Time</th><th scope="col">Action</th><th scope="col">Actor</th><th scope="col">Subject</th><th scope="col">Detail</th></tr></thead>
      <tbody>${newest.map((r) => html`<tr><th scope="row">${r.seq}</th><td>${time(r.at)}</td><td>${r.action}</td><td>${r.actor}</td><td class="mono">${r.subject ?? ''}</td><td><code class="detail">${r.detail ?? ''}</code></td></tr>`)}</tbody></table></div></section>`);
}
