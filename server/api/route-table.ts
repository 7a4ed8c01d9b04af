/**
 * The authority model of the HTTPS API in one table: every route and the roles that may call it.
 * Routes are mounted only through `mountRoute` (route.ts), which looks its access up here, so a
 * route absent from the table cannot exist; 'public' routes are the only ones reached without a
 * client certificate. The web console and other entry points read the same table.
 */
import type { Role } from '../../common/roles.js';

/**
 * Who may call a route: anyone (no certificate), an EST client ('est': a client certificate of
 * this PKI or of a birth CA the EST label names, or the label's HTTP Basic credentials; see
 * server/est/est-auth.ts), or the listed roles.
 */
export type Access = 'public' | 'est' | readonly Role[];

const READERS = ['operator', 'security-officer', 'auditor'] as const satisfies readonly Role[];

/** `METHOD /path` (as @koa/router patterns, `:name` parameters) → access. */
export const ROUTES = {
  // Liveness and what relying parties need to trust the API: no identity required.
  'GET /health': 'public',
  'GET /v1/ca/chain': 'public',
  'GET /v1/openapi.json': 'public',

  // EST (RFC 7030, server/est): the CA certificates and the CSR attributes are for anyone
  // (§4.1.1, §4.5.1); enrolling needs an EST identity. Each also under a label (§3.2.2).
  'GET /.well-known/est/cacerts': 'public',
  'GET /.well-known/est/:label/cacerts': 'public',
  'GET /.well-known/est/csrattrs': 'public',
  'GET /.well-known/est/:label/csrattrs': 'public',
  'POST /.well-known/est/simpleenroll': 'est',
  'POST /.well-known/est/:label/simpleenroll': 'est',
  'POST /.well-known/est/simplereenroll': 'est',
  'POST /.well-known/est/:label/simplereenroll': 'est',
  'POST /.well-known/est/serverkeygen': 'est',
  'POST /.well-known/est/:label/serverkeygen': 'est',
  'POST /.well-known/est/fullcmc': 'est',
  'POST /.well-known/est/:label/fullcmc': 'est',
  // Counts by refusal code and route tell an outsider how the line is doing: readers only.
  'GET /metrics': READERS,

  // A station cannot create or widen a work order: it would give itself any quota.
  'POST /v1/work-orders': ['operator'],
  'GET /v1/work-orders': READERS,
  'PATCH /v1/work-orders/:id': ['operator'],
  'POST /v1/work-orders/:id/close': ['operator'],
  // Stations see the work orders they are allowed on (checked by the service).
  'GET /v1/work-orders/:id': [...READERS, 'station'],

  // Only stations issue: the officer's and the operator's identities never sign a device certificate.
  'POST /v1/units': ['station'],
  'POST /v1/units:batch': ['station'],
  'POST /v1/units/:serial/confirm': ['station'],
  // A station quarantines units it has not confirmed yet; a confirmed unit only the officer (service rule).
  'POST /v1/units/:serial/quarantine': ['station', 'security-officer'],
  'POST /v1/units/:serial/release': ['security-officer'],
  'GET /v1/units': READERS,
  'GET /v1/units/:serial': [...READERS, 'station'],

  'POST /v1/revocations': ['security-officer'],

  'GET /v1/audit': READERS,
  'GET /v1/audit/verify': READERS,
  'GET /v1/reconcile': READERS,

  // Issue 18: the live line, a unit's story and the preregistration outbox, as the console shows them.
  'GET /v1/line': READERS,
  // A station reports a pause it lived through while the server was unreachable (once it is reachable again).
  'POST /v1/line/pauses': ['station'],
  'GET /v1/units/:serial/story': READERS,
  'GET /v1/outbox': READERS,
  'POST /v1/outbox/:id/retry': ['operator'],
  'POST /v1/outbox/:id/park': ['operator'],

  // The web console (server/console): readers read every page; each action has the role its API
  // route has. Stations get no console. Forms also pass the console's CSRF check (same origin
  // and a per-session token), which the router's role check precedes.
  'GET /console': READERS,
  'GET /console/assets/:file': READERS,
  'GET /console/line': READERS,
  'GET /console/line/events': READERS,
  'GET /console/work-orders': READERS,
  'POST /console/work-orders': ['operator'],
  'GET /console/work-orders/:id': READERS,
  'POST /console/work-orders/:id/close': ['operator'],
  'GET /console/units': READERS,
  'GET /console/units/:serial': READERS,
  'GET /console/quarantine': READERS,
  'POST /console/units/:serial/release': ['security-officer'],
  'POST /console/units/:serial/scrap': ['security-officer'],
  'GET /console/preregistration': READERS,
  'POST /console/outbox/:id/retry': ['operator'],
  'POST /console/outbox/:id/park': ['operator'],
  'GET /console/revocation': READERS,
  'POST /console/revocations': ['security-officer'],
  'GET /console/audit': READERS,
  'GET /console/audit/export': READERS,
} as const satisfies Record<string, Access>;

/** A route of the table. */
export type RouteKey = keyof typeof ROUTES;

/** A route of the web console (HTML pages and forms, not part of the OpenAPI document). */
export type ConsoleRouteKey = Extract<RouteKey, `${string} /console${string}`>;

/** True for the console's routes. */
export function isConsoleRoute(key: RouteKey): key is ConsoleRouteKey {
  return / \/console(\/|$)/.test(key);
}
