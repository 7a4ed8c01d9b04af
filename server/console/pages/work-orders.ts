/**
 * Work orders: the list with quota vs issued, a create form (operator), and one order's page:
 * issued vs confirmed vs ready to ship, per station, its shipment gate, and close (operator).
 */
import type { WorkOrderView } from '../../../common/protocol/station-api.js';
import type { WorkOrderDetail } from '../../services/work-order-progress.js';
import { html, time, type Html } from '../html.js';
import { csrfField, may, page, type PageContext } from '../layout.js';

/** The list and the create form. */
export function workOrdersPage(c: PageContext, orders: readonly WorkOrderView[], registryNames: readonly string[]): Html {
  const rows = orders.map((w) => html`<tr>
    <th scope="row"><a href="/console/work-orders/${encodeURIComponent(w.id)}">${w.id}</a></th><td>${w.product}</td>
    <td><span class="badge badge-${w.status}">${w.status}</span></td>
    <td class="num">${w.issued} / ${w.quota}</td><td>${meter(w.issued, w.quota, `${w.id} quota used`)}</td>
    <td>${w.stations ? w.stations.join(', ') : html`<span class="muted">any</span>`}</td><td>${w.registries.join(', ')}</td><td>${w.preregistration}</td><td>${time(w.createdAt)}</td></tr>`);
  const create = may(c, 'POST /console/work-orders') ? html`<section aria-labelledby="new-wo"><h2 id="new-wo">New work order</h2>
    <form method="post" action="/console/work-orders" class="grid-form">${csrfField(c)}
      <label for="wo-id">Id</label><input id="wo-id" name="id" required maxlength="128" pattern="[A-Za-z0-9._\\-]+" autocomplete="off">
      <label for="wo-product">Product</label><input id="wo-product" name="product" required maxlength="64">
      <label for="wo-quota">Quota</label><input id="wo-quota" name="quota" type="number" min="1" required>
      <label for="wo-stations">Stations allowed</label><input id="wo-stations" name="stations" aria-describedby="wo-stations-help" placeholder="station-01, station-02">
      <p id="wo-stations-help" class="help">Comma-separated station ids; empty: any station.</p>
      <fieldset><legend>Registries</legend>${registryNames.map((r) => html`<label class="inline"><input type="checkbox" name="registry" value="${r}"${r === 'self' ? html` checked` : ''}> ${r}</label>`)}</fieldset>
      <fieldset><legend>Preregistration</legend>
        <label class="inline"><input type="radio" name="preregistration" value="confirmed" checked> confirmed (the station waits for every registry)</label>
        <label class="inline"><input type="radio" name="preregistration" value="queued"> queued (the shipment gate catches the rest)</label></fieldset>
      <button type="submit">Create work order</button>
    </form></section>` : html`<p class="muted">Creating and closing work orders needs the operator role.</p>`;
  return page(c, 'work-orders', 'Work orders', html`<div class="table-wrap"><table>
    <caption>Every work order, newest first</caption>
    <thead><tr><th scope="col">Id</th><th scope="col">Product</th><th scope="col">Status</th><th scope="col">Issued / quota</th><th scope="col">Used</th><th scope="col">Stations</th><th scope="col">Registries</th><th scope="col">Preregistration</th><th scope="col">Created</th></tr></thead>
    <tbody>${rows.length ? rows : html`<tr><td colspan="9">No work orders yet.</td></tr>`}</tbody></table></div>${create}`);
}

/** One work order. */
export function workOrderPage(c: PageContext, d: WorkOrderDetail): Html {
  const w = d.workOrder;
  const stations = [...new Set(d.byStation.map((s) => s.station))];
  const count = (st: string, status: string) => d.byStation.find((s) => s.station === st && s.status === status)?.count ?? 0;
  const close = w.status === 'open' && may(c, 'POST /console/work-orders/:id/close') ? html`<form method="post" action="/console/work-orders/${encodeURIComponent(w.id)}/close" class="inline-form">${csrfField(c)}
    <label class="inline"><input type="checkbox" name="confirm" value="yes" required> Stop issuing on ${w.id} (it cannot be reopened)</label>
    <button type="submit" class="danger">Close work order</button></form>` : '';
  const r = d.gate.report;
  return page(c, 'work-orders', `Work order ${w.id}`, html`
    <dl class="facts">
      <dt>Product</dt><dd>${w.product}</dd><dt>Status</dt><dd><span class="badge badge-${w.status}">${w.status}</span></dd>
      <dt>Quota</dt><dd>${w.quota}</dd><dt>Issued</dt><dd>${w.issued} ${meter(w.issued, w.quota, 'quota used')}</dd>
      <dt>Confirmed</dt><dd>${d.totals.confirmed}</dd><dt>Ready to ship</dt><dd>${d.shippedReady}</dd>
      <dt>Quarantined</dt><dd>${d.totals.quarantined}</dd><dt>Revoked</dt><dd>${d.totals.revoked}</dd>
      <dt>Stations allowed</dt><dd>${w.stations ? w.stations.join(', ') : 'any'}</dd><dt>Registries</dt><dd>${w.registries.join(', ')} (${w.preregistration})</dd>
    </dl>
    <section aria-labelledby="gate"><h2 id="gate">Shipment gate</h2>
      <p class="gate gate-${d.gate.go ? 'go' : 'nogo'}"><strong>${d.gate.go ? 'GO' : 'NO-GO'}</strong>: ${d.gate.go ? 'every unit is preregistered' : `${d.gate.problems} finding(s)`}</p>
      <ul><li>${r.unregistered.length} unit/registry pair(s) not preregistered</li><li>${r.parked.length} parked job(s)</li><li>${r.awaitingConnection.length} awaiting first connection (does not fail the gate)</li></ul>
    </section>
    <section aria-labelledby="per-station"><h2 id="per-station">Per station</h2><div class="table-wrap"><table>
      <thead><tr><th scope="col">Station</th><th scope="col">Issued (not confirmed)</th><th scope="col">Confirmed</th><th scope="col">Quarantined</th><th scope="col">Revoked</th></tr></thead>
      <tbody>${stations.length ? stations.map((st) => html`<tr><th scope="row">${st}</th>${['issued', 'confirmed', 'quarantined', 'revoked'].map((s) => html`<td class="num">${count(st, s)}</td>`)}</tr>`) : html`<tr><td colspan="5">No units yet.</td></tr>`}</tbody></table></div></section>
    <p><a href="/console/units?workOrder=${encodeURIComponent(w.id)}">Units of ${w.id}</a></p>
    ${close}`);
}

/** A meter with its value in text for those who cannot see the bar. */
export function meter(value: number, max: number, label: string): Html {
  const pct = max > 0 ? Math.min(100, Math.round((value / max) * 100)) : 0;
  return html`<meter min="0" max="${max}" value="${value}" low="${Math.floor(max * 0.75)}" high="${Math.floor(max * 0.9)}" optimum="0" aria-label="${label}">${pct}%</meter> <span class="muted">${pct}%</span>`;
}
