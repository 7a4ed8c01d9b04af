/**
 * Revocation: the CRL this server publishes (its number and dates), the OCSP status of the last
 * revoked certificate, and for the security officer the form: a unit, a work order or one
 * certificate, a reason (RFC 5280 §5.3.1), and a confirmation that repeats the target.
 */
import { REVOCATION_REASONS } from '../../../common/protocol/revocation.js';
import type { CertStatus } from '../../ca/ocsp-response.js';
import { html, time, type Html } from '../html.js';
import { csrfField, may, page, type PageContext } from '../layout.js';

/** What the page shows besides the form. */
export interface RevocationView {
  crl: { number: number; thisUpdate: string; nextUpdate: string } | null;
  /** The certificates of the last revocation and their OCSP status now. */
  checked: Array<{ certificateSerial: string; status: CertStatus }>;
  prefill: { kind: 'serial' | 'workOrder' | 'certificateSerial'; target: string };
}

/** The page. */
export function revocationPage(c: PageContext, v: RevocationView): Html {
  const officer = may(c, 'POST /console/revocations');
  const kinds = [['serial', 'Unit (chip serial)'], ['workOrder', 'Every unit of a work order'], ['certificateSerial', 'One certificate (certificate serial)']] as const;
  return page(c, 'revocation', 'Revocation', html`
    <section aria-labelledby="crl-h"><h2 id="crl-h">CRL and OCSP</h2>
      ${v.crl ? html`<dl class="facts"><dt>CRL number</dt><dd id="crl-number">${v.crl.number}</dd><dt>This update</dt><dd>${time(v.crl.thisUpdate)}</dd><dt>Next update</dt><dd>${time(v.crl.nextUpdate)}</dd></dl>` : html`<p class="muted">No CRL published yet.</p>`}
      ${v.checked.length ? html`<div class="table-wrap"><table><caption>OCSP status after the revocation</caption><thead><tr><th scope="col">Certificate serial</th><th scope="col">OCSP status</th><th scope="col">Reason</th></tr></thead>
        <tbody>${v.checked.map((x) => html`<tr><th scope="row" class="mono">${x.certificateSerial}</th><td><span class="badge badge-${x.status.status}" data-ocsp="${x.certificateSerial}">${x.status.status}</span></td><td>${x.status.status === 'revoked' ? x.status.reason ?? '' : ''}</td></tr>`)}</tbody></table></div>` : ''}
    </section>
    ${officer ? html`<section aria-labelledby="revoke-h"><h2 id="revoke-h">Revoke</h2>
      <form method="post" action="/console/revocations" class="grid-form">${csrfField(c)}
        <fieldset><legend>What to revoke</legend>${kinds.map(([k, label]) => html`<label class="inline"><input type="radio" name="kind" value="${k}"${v.prefill.kind === k ? html` checked` : ''} required> ${label}</label>`)}</fieldset>
        <label for="rv-target">Serial, work order or certificate serial</label><input id="rv-target" name="target" required maxlength="128" value="${v.prefill.target}" autocomplete="off" spellcheck="false">
        <label for="rv-reason">Reason</label><select id="rv-reason" name="reason" required>${REVOCATION_REASONS.map((r) => html`<option${r === 'keyCompromise' ? html` selected` : ''}>${r}</option>`)}</select>
        <label for="rv-confirm">Type the target again to confirm</label><input id="rv-confirm" name="confirm" required maxlength="128" autocomplete="off" spellcheck="false" aria-describedby="rv-help">
        <p id="rv-help" class="help">Revocation cannot be undone: the CRL is re-issued and OCSP answers revoked at once.</p>
        <button type="submit" class="danger">Revoke</button>
      </form></section>` : html`<p class="muted">Revoking needs the security-officer role.</p>`}`);
}
