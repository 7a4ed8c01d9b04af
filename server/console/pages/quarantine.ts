/**
 * Quarantine: every quarantined unit with its reason, and for the security officer the release
 * and scrap forms (both audited by the services they call).
 */
import type { UnitDetail } from '../../services/unit-lifecycle.js';
import { html, time, type Html } from '../html.js';
import { may, page, type PageContext } from '../layout.js';
import { quarantineForms } from './units.js';

/** The page. */
export function quarantinePage(c: PageContext, units: readonly UnitDetail[], more: boolean): Html {
  const officer = may(c, 'POST /console/units/:serial/release');
  return page(c, 'quarantine', 'Quarantine', html`
    ${officer ? '' : html`<p class="muted">Releasing or scrapping a unit needs the security-officer role.</p>`}
    ${units.length === 0 ? html`<p>No unit is quarantined.</p>` : html`<ul class="cards">${units.map((u) => html`<li class="card">
      <h2><a href="/console/units/${u.serial}">${u.serial}</a></h2>
      <p><strong>Reason:</strong> ${u.statusReason ?? '—'}</p>
      <p class="muted">${u.workOrder} · ${u.station} · issued ${time(u.issuedAt)}${u.confirmedAt ? html` · was confirmed ${time(u.confirmedAt)}` : ''}</p>
      ${officer ? quarantineForms(c, u.serial) : ''}</li>`)}</ul>`}
    ${more ? html`<p class="muted">More quarantined units exist: <a href="/console/units?status=quarantined">see them all</a>.</p>` : ''}`);
}
