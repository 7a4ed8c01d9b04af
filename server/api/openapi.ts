/**
 * GET /v1/openapi.json: the station API as OpenAPI 3.1, generated from the same zod schemas the
 * server validates with, so the description cannot drift from the code.
 */
import { z } from 'zod';
import * as api from '../../common/protocol/station-api.js';
import { revocationRequest } from '../services/revocation.js';

const json = (s: z.ZodType) => z.toJSONSchema(s, { unrepresentable: 'any', io: 'input' });
const body = (s: z.ZodType) => ({ required: true, content: { 'application/json': { schema: json(s) } } });
const ok = (description: string, s?: z.ZodType) => ({ description, ...(s ? { content: { 'application/json': { schema: json(s) } } } : {}) });
const refusals = {
  '400': ok('Invalid input (VALIDATION_FAILED, MALFORMED_JSON, INVALID_PUBLIC_KEY, POINT_NOT_ON_CURVE, UNSUPPORTED_CURVE, INVALID_CSR, CSR_SIGNATURE_INVALID, UNKNOWN_WORK_ORDER, UNKNOWN_REGISTRY, ...)', api.errorBody),
  '401': ok('No client certificate, or one this PKI did not issue or that expired', api.errorBody),
  '403': ok('Revoked certificate, wrong role, station not allowed, quota exceeded', api.errorBody),
  '409': ok('DUPLICATE_KEY, SERIAL_EXISTS', api.errorBody),
  '413': ok('BODY_TOO_LARGE', api.errorBody),
};
const serialParam = [{ name: 'serial', in: 'path', required: true, schema: { type: 'string', pattern: '^[0-9A-Fa-f]{18}$' } }];

/** The OpenAPI document. */
export function openApiDocument(): Record<string, unknown> {
  return {
    openapi: '3.1.0',
    info: { title: 'Keyline station API', version: '1' },
    components: { securitySchemes: { mtls: { type: 'mutualTLS', description: 'Station certificate issued by this PKI (OU = role, CN = station id)' } } },
    security: [{ mtls: [] }],
    paths: {
      '/v1/work-orders': { post: { summary: 'Create a work order', requestBody: body(api.workOrderCreate), responses: { '201': ok('Created', api.workOrderView), ...refusals } } },
      '/v1/work-orders/{id}': {
        get: { summary: 'A work order with its issued count', parameters: [{ name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': ok('The work order', api.workOrderView), ...refusals } },
      },
      '/v1/units': {
        post: { summary: 'Sign a unit\'s certificate (raw X||Y hex, SPKI base64, or CSR PEM)', requestBody: body(api.unitIssueRequest), responses: { '201': ok('Issued', api.unitIssued), '200': ok('Safe retry: the same certificate', api.unitIssued), ...refusals } },
        get: { summary: 'List units (paged)', parameters: ['workOrder', 'status', 'cursor', 'limit'].map((name) => ({ name, in: 'query', required: false, schema: { type: 'string' } })), responses: { '200': ok('A page of units', api.unitListResponse), ...refusals } },
      },
      '/v1/units:batch': { post: { summary: 'Up to 100 units, the same rules per unit', requestBody: body(api.unitBatchRequest), responses: { '200': ok('One result per unit, in order', api.unitBatchResponse), ...refusals } } },
      '/v1/units/{serial}': { get: { summary: 'One unit', parameters: serialParam, responses: { '200': ok('The unit', api.unitView), ...refusals } } },
      '/v1/units/{serial}/confirm': {
        post: {
          summary: 'Confirm the certificate was written and verified on the chip; for a \'confirmed\' work order, waits for its registrations',
          parameters: serialParam, requestBody: body(api.unitConfirm),
          responses: {
            '200': ok('Confirmed and complete (registered, awaiting first connection, or queued for a \'queued\' work order)', api.unitConfirmed),
            ...refusals,
            '502': ok('REGISTRY_REJECTED: a registry refused the unit (detail.registrations)', api.errorBody),
            '503': ok('REGISTRATION_PENDING: not all registries confirmed in time; retry (idempotent). detail.registrations', api.errorBody),
          },
        },
      },
      '/v1/units/{serial}/quarantine': { post: { summary: 'Quarantine a unit with its reason', parameters: serialParam, requestBody: body(api.unitQuarantine), responses: { '200': ok('Quarantined', api.unitView), ...refusals } } },
      '/v1/revocations': { post: { summary: 'Revoke a unit, a work order\'s units or one certificate (security-officer role only; CRL re-issued, OCSP updated)', requestBody: body(revocationRequest), responses: { '200': ok('Every certificate touched, with alreadyRevoked for earlier revocations'), '404': ok('UNKNOWN_UNIT', api.errorBody), ...refusals } } },
      '/v1/ca/chain': { get: { summary: 'Issuing CA and root, PEM', security: [], responses: { '200': { description: 'application/pem-certificate-chain' } } } },
      '/health': { get: { summary: 'Readiness: HSM, store', security: [], responses: { '200': { description: 'ready' }, '503': { description: 'not ready' } } } },
      '/metrics': { get: { summary: 'Prometheus metrics', security: [], responses: { '200': { description: 'text exposition format' } } } },
    },
  };
}
