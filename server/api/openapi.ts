/**
 * GET /v1/openapi.json: the API as OpenAPI 3.1, generated from the same zod schemas the server
 * validates with and from the route table, so neither the shapes nor who may call what can drift
 * from the code. Each operation lists its roles in `x-keyline-roles`.
 */
import { CHIP_SERIAL_ANY_CASE_RE } from '../../common/chip-serial.js';
import { z } from 'zod';
import * as api from '../../common/protocol/station-api.js';
import { revocationRequest } from '../../common/protocol/revocation.js';
import { linePause, outboxPark } from '../../common/protocol/operations.js';
import { isConsoleRoute, ROUTES, type ConsoleRouteKey, type RouteKey } from './route-table.js';

const json = (s: z.ZodType) => z.toJSONSchema(s, { unrepresentable: 'any', io: 'input' });
const body = (s: z.ZodType) => ({ required: true, content: { 'application/json': { schema: json(s) } } });
const ok = (description: string, s?: z.ZodType) => ({ description, ...(s ? { content: { 'application/json': { schema: json(s) } } } : {}) });
const refusals = {
  '400': ok('Invalid input (VALIDATION_FAILED, MALFORMED_JSON, DUPLICATE_JSON_KEY, INVALID_PUBLIC_KEY, POINT_NOT_ON_CURVE, UNSUPPORTED_CURVE, INVALID_CSR, CSR_SIGNATURE_INVALID, UNKNOWN_REGISTRY, ...)', api.errorBody),
  '401': ok('No client certificate, or one this PKI did not issue or that expired', api.errorBody),
  '403': ok('Revoked certificate, wrong role (FORBIDDEN), station not allowed on the work order, quota exceeded', api.errorBody),
  '404': ok('UNKNOWN_WORK_ORDER, UNKNOWN_UNIT', api.errorBody),
  '409': ok('DUPLICATE_KEY, SERIAL_EXISTS, UNIT_REVOKED, QUOTA_BELOW_ISSUED', api.errorBody),
  '413': ok('BODY_TOO_LARGE', api.errorBody),
  '415': ok('UNSUPPORTED_MEDIA_TYPE: the body must be application/json (UTF-8)', api.errorBody),
};
const serial = [{ name: 'serial', in: 'path', required: true, schema: { type: 'string', pattern: CHIP_SERIAL_ANY_CASE_RE.source } }];
const jobId = [{ name: 'id', in: 'path', required: true, schema: { type: 'integer', minimum: 1 } }];
const woId = [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }];
const query = (...names: string[]) => names.map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } }));

type Operation = { summary: string; parameters?: unknown[]; requestBody?: unknown; responses: Record<string, unknown> };

// EST (RFC 7030, server/est): base64 DER bodies, text/plain refusals; 'est' access in the table.
const label = [{ name: 'label', in: 'path', required: true, schema: { type: 'string' } }];
const pkcs10 = { required: true, content: { 'application/pkcs10': { schema: { type: 'string', description: 'base64 DER PKCS#10' } } } };
const estRefusals = { '400': { description: 'text/plain: bad base64, CSR, serial, subject' }, '401': { description: 'WWW-Authenticate: Basic' }, '403': { description: 'text/plain' }, '409': { description: 'text/plain: DUPLICATE_KEY, SERIAL_EXISTS' } };
const certsOnly = { '200': { description: 'application/pkcs7-mime; smime-type=certs-only (base64)' }, '202': { description: 'Waiting for approval: Retry-After seconds' }, ...estRefusals };
const estOps = (path: string, parameters?: unknown[]): Record<string, Operation> => ({
  [`GET /.well-known/est${path}/cacerts`]: { summary: 'EST: the CA certificates, root included (certs-only PKCS#7, base64)', ...(parameters ? { parameters } : {}), responses: { '200': { description: 'application/pkcs7-mime' } } },
  [`GET /.well-known/est${path}/csrattrs`]: { summary: 'EST: what the label\'s profile needs in a CSR', ...(parameters ? { parameters } : {}), responses: { '200': { description: 'application/csrattrs' }, '204': { description: 'nothing asked' } } },
  [`POST /.well-known/est${path}/simpleenroll`]: { summary: 'EST: enroll a device (chip serial from the CSR subject, work order from the label)', ...(parameters ? { parameters } : {}), requestBody: pkcs10, responses: certsOnly },
  [`POST /.well-known/est${path}/simplereenroll`]: { summary: 'EST: re-enroll with the current device certificate (same subject; new key unless the label allows re-use)', ...(parameters ? { parameters } : {}), requestBody: pkcs10, responses: certsOnly },
  [`POST /.well-known/est${path}/serverkeygen`]: { summary: 'EST: not offered (keys are generated in the secure element)', ...(parameters ? { parameters } : {}), responses: { '501': { description: 'text/plain' } } },
  [`POST /.well-known/est${path}/fullcmc`]: { summary: 'EST: not offered', ...(parameters ? { parameters } : {}), responses: { '501': { description: 'text/plain' } } },
});
const EST_OPERATIONS = { ...estOps(''), ...estOps('/:label', label) } as Record<Extract<RouteKey, `${string} /.well-known/est/${string}`>, Operation>;

// Record<…, …>: the compiler refuses a table route without a description, and the reverse. The
// console's routes are HTML pages and forms, not API operations: they are left out.
const OPERATIONS: Record<Exclude<RouteKey, ConsoleRouteKey>, Operation> = {
  'GET /health': { summary: 'Readiness: HSM, store', responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } } },
  'GET /v1/ca/chain': { summary: 'Issuing CA and root, PEM', responses: { '200': { description: 'application/pem-certificate-chain' } } },
  'GET /v1/openapi.json': { summary: 'This document', responses: { '200': { description: 'OpenAPI 3.1' } } },
  ...EST_OPERATIONS,
  'GET /metrics': { summary: 'Prometheus metrics', responses: { '200': { description: 'text exposition format' }, ...refusals } },
  'POST /v1/work-orders': { summary: 'Create a work order', requestBody: body(api.workOrderCreate), responses: { '201': ok('Created', api.workOrderView), ...refusals } },
  'GET /v1/work-orders': { summary: 'Every work order, newest first', responses: { '200': ok('The work orders', api.workOrderList), ...refusals } },
  'GET /v1/work-orders/:id': { summary: 'A work order with its issued count (a station: only orders it is allowed on)', parameters: woId, responses: { '200': ok('The work order', api.workOrderView), ...refusals } },
  'PATCH /v1/work-orders/:id': { summary: 'Set the quota (not below the issued count) and/or the stations allowed', parameters: woId, requestBody: body(api.workOrderUpdate), responses: { '200': ok('The work order', api.workOrderView), ...refusals } },
  'POST /v1/work-orders/:id/close': { summary: 'Close a work order: it issues nothing more (idempotent)', parameters: woId, responses: { '200': ok('The work order', api.workOrderView), ...refusals } },
  'POST /v1/units': { summary: 'Sign a unit\'s certificate (raw X||Y hex, SPKI base64, or CSR PEM)', requestBody: body(api.unitIssueRequest), responses: { '201': ok('Issued', api.unitIssued), '200': ok('Safe retry: the same certificate', api.unitIssued), ...refusals } },
  'POST /v1/units:batch': { summary: 'Up to 100 units, the same rules per unit', requestBody: body(api.unitBatchRequest), responses: { '200': ok('One result per unit, in order', api.unitBatchResponse), ...refusals } },
  'POST /v1/units/:serial/confirm': {
    summary: 'Confirm the certificate was written and verified on the chip; for a \'confirmed\' work order, waits for its registrations',
    parameters: serial, requestBody: body(api.unitConfirm),
    responses: {
      '200': ok('Confirmed and complete (registered, awaiting first connection, or queued for a \'queued\' work order)', api.unitConfirmed),
      ...refusals,
      '502': ok('REGISTRY_REJECTED: a registry refused the unit (detail.registrations)', api.errorBody),
      '503': ok('REGISTRATION_PENDING: not all registries confirmed in time; retry (idempotent). detail.registrations', api.errorBody),
    },
  },
  'POST /v1/units/:serial/quarantine': { summary: 'Quarantine a unit with its reason (a confirmed unit: security officer only)', parameters: serial, requestBody: body(api.unitQuarantine), responses: { '200': ok('Quarantined', api.unitView), ...refusals } },
  'POST /v1/units/:serial/release': { summary: 'Return a quarantined unit to service (confirmed if it had been, else issued)', parameters: serial, requestBody: body(api.unitRelease), responses: { '200': ok('Released', api.unitView), ...refusals } },
  'GET /v1/units': { summary: 'List units (paged)', parameters: query('workOrder', 'status', 'cursor', 'limit'), responses: { '200': ok('A page of units', api.unitListResponse), ...refusals } },
  'GET /v1/units/:serial': { summary: 'One unit (a station: only units of orders it is allowed on)', parameters: serial, responses: { '200': ok('The unit', api.unitView), ...refusals } },
  'POST /v1/revocations': { summary: 'Revoke a unit, a work order\'s units or one certificate (CRL re-issued, OCSP updated)', requestBody: body(revocationRequest), responses: { '200': ok('Every certificate touched, with alreadyRevoked for earlier revocations'), ...refusals } },
  'GET /v1/audit': { summary: 'Audit records after a sequence number (paged: nextAfterSeq)', parameters: query('afterSeq', 'limit'), responses: { '200': ok('{records, nextAfterSeq}'), ...refusals } },
  'GET /v1/audit/verify': { summary: 'Walk the audit hash chain', responses: { '200': ok('{ok, count, lastHash} or the first broken link'), ...refusals } },
  'GET /v1/reconcile': { summary: 'The shipment gate: units not preregistered, orphan registrations, parked jobs', parameters: query('workOrder'), responses: { '200': ok('The report'), ...refusals } },
  'GET /v1/line': { summary: 'The line over the last hour: per station and work order units/hour, good, quarantined; the last units; throughput series; alerts', responses: { '200': ok('The line (as the console shows it)'), ...refusals } },
  'POST /v1/line/pauses': { summary: 'A station reports a pause it lived through while the server was unreachable', requestBody: body(linePause), responses: { '200': ok('{recorded: true}'), ...refusals } },
  'GET /v1/units/:serial/story': { summary: 'A unit\'s story: its audit records, registry jobs, enrollment, revocation and certificate decoded', parameters: serial, responses: { '200': ok('The story'), ...refusals } },
  'GET /v1/outbox': { summary: 'Preregistration jobs by registry and state, parked and pending jobs, units registered by registry', responses: { '200': ok('{counts, parked, pending, registered}'), ...refusals } },
  'POST /v1/outbox/:id/retry': { summary: 'Put a parked (or pending) job back in the outbox, attempts from zero (audited)', parameters: jobId, responses: { '200': ok('The job'), ...refusals } },
  'POST /v1/outbox/:id/park': { summary: 'Park a pending job with a reason (audited)', parameters: jobId, requestBody: body(outboxPark), responses: { '200': ok('The job'), ...refusals } },
};

/** The OpenAPI document. */
export function openApiDocument(): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const key of Object.keys(ROUTES) as RouteKey[]) {
    if (isConsoleRoute(key)) continue;
    const [method, path] = key.split(' ') as [string, string];
    const access = ROUTES[key];
    const oaPath = path.replace(/\/:([A-Za-z]+)/g, '/{$1}');
    (paths[oaPath] ??= {})[method.toLowerCase()] = {
      ...OPERATIONS[key as Exclude<RouteKey, ConsoleRouteKey>],
      ...(access === 'public' ? { security: [] } : access === 'est' ? { 'x-keyline-access': 'est' } : { 'x-keyline-roles': access }),
    };
  }
  return {
    openapi: '3.1.0',
    info: { title: 'Keyline API', version: '1' },
    components: { securitySchemes: { mtls: { type: 'mutualTLS', description: 'Client certificate issued by this PKI (CN = id, OU = role: station, operator, security-officer, auditor)' } } },
    security: [{ mtls: [] }],
    paths,
  };
}
