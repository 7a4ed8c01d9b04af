/**
 * Units: search by chip serial, certificate fingerprint or certificate serial, a page of units
 * (by work order and status), and one unit's story from the audit chain with its registry jobs,
 * enrollment, revocation and certificate decoded; the officer's actions where they apply.
 */
import type { UnitDetail } from '../../services/unit-lifecycle.js';
import type { UnitStory } from '../../services/unit-inspection.js';
import { html, time, type Html } from '../html.js';
import { csrfField, may, page, type PageContext } from '../layout.js';

/** The search form and a page of units. */
export function unitsPage(c: PageContext, q: { term: string; workOrder?: string | undefined; status?: string | undefined; notFound: boolean }, list: { units: UnitDetail[]; nextCursor: string | null }): Html {
  const next = list.nextCursor ? `/console/units?${new URLSearchParams({ ...(q.workOrder ? { workOrder: q.workOrder } : {}), ...(q.status ? { status: q.status } : {}), cursor: list.nextCursor })}` : null;
  return page(c, 'units', 'Units', html`
    <form method="get" action="/console/units" class="search" role="search">
      <label for="q">Chip serial, certificate fingerprint or certificate serial</label>
      <input id="q" name="q" value="${q.term}" required maxlength="100" autocomplete="off" spellcheck="false" aria-describedby="q-help">
      <button type="submit">Find unit</button>
      <p id="q-help" class="help">18 hex digits: a chip serial; 64: a SHA-256 fingerprint; otherwise a certificate serial (colons and 0x allowed).</p>
    </form>
    ${q.notFound ? html`<p class="error" role="alert">No unit matches <code>${q.term}</code>.</p>` : ''}
    <form method="get" action="/console/units" class="filters"><label for="f-wo">Work order</label><input id="f-wo" name="workOrder" value="${q.workOrder ?? ''}" maxlength="128">
      <label for="f-status">Status</label><select id="f-status" name="status"><option value="">any</option>${['issued', 'confirmed', 'quarantined', 'revoked'].map((s) => html`<option${s === q.status ? html` selected` : ''}>${s}</option>`)}</select>
      <button type="submit">Filter</button></form>
    <div class="table-wrap"><table><caption>Units${q.workOrder ? ` of ${q.workOrder}` : ''}${q.status ? `, ${q.status}` : ''}, by serial</caption>
      <thead><tr><th scope="col">Serial</th><th scope="col">Status</th><th scope="col">Work order</th><th scope="col">Station</th><th scope="col">Issued</th><th scope="col">Certificate serial</th></tr></thead>
      <tbody>${list.units.length ? list.units.map((u) => html`<tr><th scope="row"><a href="/console/units/${u.serial}">${u.serial}</a></th><td><span class="badge badge-${u.status}">${u.status}</span></td><td>${u.workOrder}</td><td>${u.station}</td><td>${time(u.issuedAt)}</td><td class="mono">${u.certificateSerial}</td></tr>`) : html`<tr><td colspan="6">No units.</td></tr>`}</tbody>
    </table></div>${next ? html`<p><a href="${next}">Next page</a></p>` : ''}`);
}

/** One unit's story. */
export function unitPage(c: PageContext, s: UnitStory): Html {
  const u = s.unit;
  return page(c, 'units', `Unit ${u.serial}`, html`
    <dl class="facts">
      <dt>Status</dt><dd><span class="badge badge-${u.status}">${u.status}</span>${u.statusReason ? html` <span class="muted">(${u.statusReason})</span>` : ''}</dd>
      <dt>Work order</dt><dd><a href="/console/work-orders/${encodeURIComponent(u.workOrder)}">${u.workOrder}</a></dd><dt>Station</dt><dd>${u.station}</dd>
      <dt>Issued</dt><dd>${time(u.issuedAt)}</dd><dt>Confirmed</dt><dd>${time(u.confirmedAt)}</dd>
      <dt>Fingerprint (SHA-256)</dt><dd class="mono wrap">${u.fingerprintSha256}</dd><dt>Certificate serial</dt><dd class="mono">${u.certificateSerial}</dd>
      <dt>Enrolled</dt><dd>${s.enrollment ? html`${time(s.enrollment.at)} by ${s.enrollment.method}, group ${s.enrollment.group}` : 'not yet'}</dd>
      <dt>Revoked</dt><dd>${s.revocation ? html`${time(s.revocation.revokedAt)} (${s.revocation.reason}) by ${s.revocation.revokedBy}` : 'no'}</dd>
    </dl>
    ${actions(c, s)}
    <section aria-labelledby="story-h"><h2 id="story-h">Story (audit chain)</h2>
      <ol class="timeline">${s.audit.map((r) => html`<li><span class="seq">#${r.seq}</span> ${time(r.at)} <strong>${r.action}</strong> by ${r.actor}${r.detail ? html` <code class="detail">${r.detail}</code>` : ''}</li>`)}</ol></section>
    <section aria-labelledby="jobs-h"><h2 id="jobs-h">Registrations</h2><div class="table-wrap"><table>
      <thead><tr><th scope="col">Registry</th><th scope="col">Action</th><th scope="col">State</th><th scope="col">Attempts</th><th scope="col">External id</th><th scope="col">Last error</th></tr></thead>
      <tbody>${s.jobs.length ? s.jobs.map((j) => html`<tr><th scope="row">${j.registry}</th><td>${j.action}</td><td><span class="badge badge-${j.status}">${j.status}</span></td><td class="num">${j.attempts}</td><td class="mono">${j.externalId ?? '—'}</td><td>${j.lastError ?? ''}</td></tr>`) : html`<tr><td colspan="6">No registry jobs.</td></tr>`}</tbody></table></div></section>
    <section aria-labelledby="cert-h"><h2 id="cert-h">Certificate</h2>
      <dl class="facts"><dt>Subject</dt><dd>${s.certificate.subject}</dd><dt>Issuer</dt><dd>${s.certificate.issuer}</dd>
        <dt>Valid</dt><dd>${time(s.certificate.notBefore)} to ${time(s.certificate.notAfter)}</dd><dt>Signature</dt><dd>${s.certificate.signatureAlgorithm}</dd></dl>
      <details><summary>Decoded certificate</summary><pre class="cert">${s.certificate.text}</pre></details>
      <details><summary>PEM</summary><pre class="cert">${u.certificatePem ?? ''}</pre></details></section>`);
}

function actions(c: PageContext, s: UnitStory): Html {
  const u = s.unit;
  const out: Html[] = [];
  if (u.status === 'quarantined' && may(c, 'POST /console/units/:serial/release')) out.push(quarantineForms(c, u.serial));
  if (u.status !== 'revoked' && may(c, 'POST /console/revocations')) out.push(html`<p><a class="button" href="/console/revocation?serial=${u.serial}">Revoke this unit…</a></p>`);
  return out.length ? html`<section aria-labelledby="act-h"><h2 id="act-h">Actions</h2>${out}</section>` : html``;
}

/** Release and scrap, as the quarantine page and the unit page show them. */
export function quarantineForms(c: PageContext, serial: string): Html {
  return html`<div class="actions">
    <form method="post" action="/console/units/${serial}/release" class="inline-form">${csrfField(c)}
      <label for="rel-${serial}">Release reason</label><input id="rel-${serial}" name="reason" required maxlength="500">
      <button type="submit">Release ${serial}</button></form>
    <form method="post" action="/console/units/${serial}/scrap" class="inline-form">${csrfField(c)}
      <label for="scr-${serial}">Scrap reason</label><input id="scr-${serial}" name="reason" required maxlength="500">
      <label class="inline"><input type="checkbox" name="confirm" value="yes" required> Revoke its certificate for good</label>
      <button type="submit" class="danger">Scrap ${serial}</button></form></div>`;
}
