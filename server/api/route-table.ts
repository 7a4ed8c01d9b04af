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
} as const satisfies Record<string, Access>;

/** A route of the table. */
export type RouteKey = keyof typeof ROUTES;
