/**
 * Preregistration: units registered per registry, each registry's jobs by state, the parked jobs with the cloud's reason
 * (retry: operator), the pending ones being retried (park: operator), and the shipment gate of
 * each open work order as GO / NO-GO.
 */
import type { WorkOrderView } from '../../../common/protocol/station-api.js';
import type { OutboxOverview } from '../../services/outbox-admin.js';
import type { ReconcileReport } from '../../services/reconcile.js';
import { reconcileProblems } from '../../services/reconcile.js';
import { html, time, type Html } from '../html.js';
import { csrfField, may, page, type PageContext } from '../layout.js';

const STATES = ['pending', 'awaiting', 'delivered', 'parked'] as const;

/** The page. */
export function preregistrationPage(c: PageContext, o: OutboxOverview, gates: ReadonlyArray<{ workOrder: WorkOrderView; report: ReconcileReport }>): Html {
  const operator = may(c, 'POST /console/outbox/:id/retry');
  const registries = Object.keys(o.counts).sort();
  return page(c, 'preregistration', 'Preregistration', html`
    <section aria-labelledby="gates-h"><h2 id="gates-h">Shipment gate per work order</h2>
      <ul class="gates">${gates.length ? gates.map(({ workOrder: w, report: r }) => {
        const n = reconcileProblems(r);
        return html`<li class="gate gate-${n ? 'nogo' : 'go'}"><a href="/console/work-orders/${encodeURIComponent(w.id)}">${w.id}</a> <strong>${n ? 'NO-GO' : 'GO'}</strong>
          <span class="muted">${r.unregistered.length} not preregistered, ${r.parked.length} parked, ${r.awaitingConnection.length} awaiting first connection</span></li>`;
      }) : html`<li class="muted">No open work order.</li>`}</ul></section>
    <section aria-labelledby="registered-h"><h2 id="registered-h">Units registered by registry</h2><div class="table-wrap"><table>
      <thead><tr><th scope="col">Registry</th><th scope="col">Units registered</th></tr></thead>
      <tbody>${Object.keys(o.registered).length ? Object.keys(o.registered).sort().map((r) => html`<tr><th scope="row">${r}</th><td class="num" data-registered="${r}">${o.registered[r]}</td></tr>`) : html`<tr><td colspan="2">No unit registered yet.</td></tr>`}</tbody></table></div></section>
    <section aria-labelledby="counts-h"><h2 id="counts-h">Jobs by registry and state</h2><div class="table-wrap"><table>
      <thead><tr><th scope="col">Registry</th><th scope="col">Action</th>${STATES.map((s) => html`<th scope="col">${s}</th>`)}</tr></thead>
      <tbody>${registries.length ? registries.flatMap((r) => Object.keys(o.counts[r]!).sort().map((a) => html`<tr><th scope="row">${r}</th><td>${a}</td>${STATES.map((s) => html`<td class="num">${o.counts[r]![a]![s] ?? 0}</td>`)}</tr>`)) : html`<tr><td colspan="6">No jobs yet.</td></tr>`}</tbody></table></div></section>
    <section aria-labelledby="parked-h"><h2 id="parked-h">Parked jobs</h2>${jobsTable(c, o.parked, 'parked', operator)}</section>
    <section aria-labelledby="pending-h"><h2 id="pending-h">Pending jobs</h2>${jobsTable(c, o.pending, 'pending', operator)}</section>
    ${operator ? '' : html`<p class="muted">Retrying and parking jobs needs the operator role.</p>`}`);
}

function jobsTable(c: PageContext, jobs: OutboxOverview['parked'], kind: 'parked' | 'pending', operator: boolean): Html {
  if (jobs.length === 0) return html`<p class="muted">None.</p>`;
  return html`<div class="table-wrap"><table><thead><tr><th scope="col">Job</th><th scope="col">Unit</th><th scope="col">Registry</th><th scope="col">Action</th><th scope="col">Attempts</th><th scope="col">${kind === 'parked' ? "The registry's reason" : 'Last error'}</th><th scope="col">Next attempt</th>${operator ? html`<th scope="col">Action</th>` : ''}</tr></thead>
    <tbody>${jobs.map((j) => html`<tr><th scope="row">${j.id}</th><td><a href="/console/units/${j.serial}">${j.serial}</a></td><td>${j.registry}</td><td>${j.action}</td><td class="num">${j.attempts}</td><td>${j.lastError ?? '—'}</td><td>${time(j.nextAttemptAt)}</td>
      ${operator ? html`<td>${kind === 'parked'
        ? html`<form method="post" action="/console/outbox/${j.id}/retry">${csrfField(c)}<button type="submit">Retry job ${j.id}</button></form>`
        : html`<form method="post" action="/console/outbox/${j.id}/park" class="inline-form">${csrfField(c)}<label for="park-${j.id}">Reason</label><input id="park-${j.id}" name="reason" required maxlength="200"><button type="submit">Park job ${j.id}</button></form>`}</td>` : ''}</tr>`)}</tbody></table></div>`;
}
