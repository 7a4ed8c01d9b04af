/**
 * The console's page shell: one stylesheet and script from /console/assets, a skip link, the
 * navigation (the current page marked for screen readers), who is signed in (the certificate's
 * CN and role) and a status region for the outcome of the last action.
 */
import type { Principal } from '../api/middleware/mtls.js';
import { ROUTES, type RouteKey } from '../api/route-table.js';
import { html, type Html } from './html.js';

/** The pages of the navigation. */
export const NAV = [
  ['line', '/console/line', 'Line'],
  ['work-orders', '/console/work-orders', 'Work orders'],
  ['units', '/console/units', 'Units'],
  ['quarantine', '/console/quarantine', 'Quarantine'],
  ['preregistration', '/console/preregistration', 'Preregistration'],
  ['revocation', '/console/revocation', 'Revocation'],
  ['audit', '/console/audit', 'Audit'],
] as const;

/** A page of the navigation. */
export type Section = (typeof NAV)[number][0];

/** What every page knows. */
export interface PageContext {
  principal: Principal;
  /** The session's CSRF token for forms (csrf.ts). */
  csrf: string;
  /** The outcome of the action that redirected here, if any. */
  notice?: string | undefined;
}

/** The whole document. */
export function page(c: PageContext, section: Section | null, title: string, body: Html, opts: { scripts?: string[] } = {}): Html {
  const scripts = ['/console/assets/console.js', ...(opts.scripts ?? [])];
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · Keyline console</title>
<link rel="stylesheet" href="/console/assets/console.css">
${scripts.map((s) => html`<script src="${s}" defer></script>`)}
</head>
<body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <span class="brand">Keyline</span>
  <nav aria-label="Console">
    <ul>${NAV.map(([key, href, label]) => html`<li><a href="${href}"${key === section ? html` aria-current="page"` : ''}>${label}</a></li>`)}</ul>
  </nav>
  <p class="who">Signed in as <strong>${c.principal.id}</strong> <span class="role role-${c.principal.role}">${c.principal.role}</span></p>
</header>
<main id="main" tabindex="-1">
<h1>${title}</h1>
<div role="status" class="notice"${c.notice ? '' : html` hidden`}>${c.notice ?? ''}</div>
${body}
</main>
</body>
</html>`;
}

/** A hidden CSRF field for a form. */
export function csrfField(c: PageContext): Html {
  return html`<input type="hidden" name="csrf" value="${c.csrf}">`;
}

/** Whether the route table admits the signed-in role to `route` (forms it would refuse are not shown). */
export function may(c: PageContext, route: RouteKey): boolean {
  const access = ROUTES[route];
  return access !== 'public' && (access as readonly string[]).includes(c.principal.role);
}
