/**
 * The line, live: stations and work orders (units/hour, good, quarantined), the last units with
 * their label data, alerts, and the throughput chart (uPlot, drawn by /console/assets/line.js).
 * The sections are rendered here, on the server, both for the first paint and for every update
 * the event stream pushes (line-stream.ts): the browser only swaps them in and feeds the chart.
 */
import type { LineSnapshot } from '../../services/line-window.js';
import { html, raw, time, type Html } from '../html.js';
import { page, type PageContext } from '../layout.js';
import { meter } from './work-orders.js';

/** The sections of the line page, each rendered on its own. */
export function lineSections(s: LineSnapshot): Record<'alerts' | 'stations' | 'orders' | 'recent' | 'updated', Html> {
  const alerts = s.alerts.length
    ? html`<ul class="alerts">${s.alerts.map((a) => html`<li class="alert alert-${a.kind}"><span class="alert-kind">${ALERT_LABEL[a.kind]}</span> ${a.message}${a.serial ? html` <a href="/console/units/${a.serial}">story</a>` : ''}</li>`)}</ul>`
    : html`<p class="muted">No alerts.</p>`;
  const stations = html`<table><caption>Stations, last ${s.windowMinutes} minutes</caption>
    <thead><tr><th scope="col">Station</th><th scope="col">State</th><th scope="col">Work orders</th><th scope="col">Units/hour</th><th scope="col">Good</th><th scope="col">Quarantined</th><th scope="col">Last unit</th></tr></thead>
    <tbody>${s.stations.length ? s.stations.map((st) => html`<tr><th scope="row">${st.station}</th><td><span class="badge badge-${st.state}">${st.state}</span></td>
      <td>${st.workOrders.join(', ')}</td><td class="num" data-station-rate="${st.station}">${st.unitsPerHour}</td><td class="num">${st.good}</td><td class="num">${st.quarantined}</td><td>${time(st.lastAt)}</td></tr>`)
    : html`<tr><td colspan="7">No station has made a unit in the last ${s.windowMinutes} minutes.</td></tr>`}</tbody></table>`;
  const orders = html`<table><caption>Open work orders and those active in the window</caption>
    <thead><tr><th scope="col">Work order</th><th scope="col">Product</th><th scope="col">Issued / quota</th><th scope="col">Used</th><th scope="col">Units/hour</th><th scope="col">Good</th><th scope="col">Quarantined</th></tr></thead>
    <tbody>${s.workOrders.length ? s.workOrders.map((w) => html`<tr><th scope="row"><a href="/console/work-orders/${encodeURIComponent(w.id)}">${w.id}</a></th><td>${w.product}</td>
      <td class="num" data-wo-issued="${w.id}">${w.issued} / ${w.quota}</td><td>${meter(w.issued, w.quota, `${w.id} quota used`)}</td><td class="num">${w.unitsPerHour}</td><td class="num" data-wo-good="${w.id}">${w.good}</td><td class="num">${w.quarantined}</td></tr>`)
    : html`<tr><td colspan="7">No open work order.</td></tr>`}</tbody></table>`;
  const recent = html`<table><caption>Last units (label data)</caption>
    <thead><tr><th scope="col">Time</th><th scope="col">Serial</th><th scope="col">Status</th><th scope="col">Station</th><th scope="col">Work order</th><th scope="col">Fingerprint (SHA-256)</th></tr></thead>
    <tbody>${s.recent.length ? s.recent.map((u) => html`<tr><td>${time(u.at)}</td><th scope="row"><a href="/console/units/${u.serial}">${u.serial}</a></th><td><span class="badge badge-${u.status}">${u.status}</span></td>
      <td>${u.station}</td><td>${u.workOrder ?? '—'}</td><td class="mono">${u.fingerprint ? html`<abbr title="${u.fingerprint}">${u.fingerprint.slice(0, 16)}…</abbr>` : '—'}</td></tr>`)
    : html`<tr><td colspan="6">No units yet.</td></tr>`}</tbody></table>`;
  const updated = html`Updated ${time(s.at)}${s.skipped ? html` · <strong>${s.skipped} changes passed over while the feed lagged</strong>` : ''}`;
  return { alerts, stations, orders, recent, updated };
}

const ALERT_LABEL = { quota: 'Quota', paused: 'Paused', clone: 'Clone suspect' } as const;

/** The whole page, with the first snapshot. */
export function linePage(c: PageContext, s: LineSnapshot): Html {
  const sec = lineSections(s);
  return page(c, 'line', 'Line', html`
    <p class="updated" id="line-updated">${sec.updated}</p>
    <section aria-labelledby="alerts-h"><h2 id="alerts-h">Alerts</h2><div id="line-alerts" aria-live="polite">${sec.alerts}</div></section>
    <section aria-labelledby="chart-h"><h2 id="chart-h">Throughput</h2>
      <figure class="chart"><div id="line-chart" role="img" aria-label="Good units per ${s.bucketSeconds} seconds for each station, and quarantined units, over the last ${s.windowMinutes} minutes"></div>
      <figcaption>Good units per ${s.bucketSeconds} s by station, quarantined in red (dashed), over the last ${s.windowMinutes} minutes. The tables below hold the same figures.</figcaption></figure>
      <script type="application/json" id="line-data">${jsonForScript(s.series)}</script></section>
    <section aria-labelledby="stations-h"><h2 id="stations-h">Stations</h2><div id="line-stations" class="table-wrap">${sec.stations}</div></section>
    <section aria-labelledby="orders-h"><h2 id="orders-h">Work orders</h2><div id="line-orders" class="table-wrap">${sec.orders}</div></section>
    <section aria-labelledby="recent-h"><h2 id="recent-h">Last units</h2><div id="line-recent" class="table-wrap">${sec.recent}</div></section>`,
  { scripts: ['/console/assets/uPlot.iife.min.js', '/console/assets/line.js'] });
}

/** JSON safe inside a <script> element: '<' escaped so no '</script>' can end it. */
export function jsonForScript(value: unknown): Html {
  return raw(JSON.stringify(value).replace(/</g, '\\u003c'));
}
