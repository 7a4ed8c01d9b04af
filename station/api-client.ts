/**
 * The station's HTTPS client for the station API: mTLS with the station identity, keep-alive
 * connections, and every refusal surfaced as a KeylineError carrying the server's code.
 */
import { Agent, request } from 'node:https';
import { readFileSync } from 'node:fs';
import { KeylineError, type ErrorCode } from '../common/errors.js';
import {
  unitBatchResponse, unitConfirmed, unitIssued, unitView, workOrderList, workOrderView,
  type UnitBatchResponse, type UnitConfirmed, type UnitIssued, type UnitView, type WorkOrderCreate, type WorkOrderUpdate, type WorkOrderView,
} from '../common/protocol/station-api.js';
import { z } from 'zod';
import type { KeyOriginEvidence } from '../common/protocol/key-origin.js';
import type { LinePause } from '../common/protocol/operations.js';

/** Where and as whom to connect. */
export interface StationApiOptions {
  baseUrl: string;
  /** PEM strings, or file paths when `files` is true. */
  cert: string;
  key: string;
  /** The root CA that signed the server's TLS certificate chain. */
  ca: string;
  /** Concurrent connections kept open. */
  maxSockets?: number;
  timeoutMs?: number;
}

/** A refusal from the server: `code` is the server's error code, `status` the HTTP status. */
export class ApiError extends KeylineError {
  readonly status: number;
  constructor(code: string, message: string, status: number, detail?: Record<string, unknown>) {
    super(code as ErrorCode, message, detail ? { detail } : {});
    this.status = status;
  }
}

/** Reads a StationApiOptions' cert/key/ca from files. */
export function loadIdentity(opts: { baseUrl: string; certFile: string; keyFile: string; caFile: string }): StationApiOptions {
  return { baseUrl: opts.baseUrl, cert: readFileSync(opts.certFile, 'utf8'), key: readFileSync(opts.keyFile, 'utf8'), ca: readFileSync(opts.caFile, 'utf8') };
}

/**
 * The API, one method per route, as whichever identity it is given: a station's for the line,
 * an operator's for work orders, an officer's for quarantine release (the server's route table
 * decides what each may call).
 */
export class StationApiClient {
  private readonly agent: Agent;
  private readonly base: URL;
  private readonly timeoutMs: number;

  constructor(opts: StationApiOptions) {
    this.base = new URL(opts.baseUrl);
    this.timeoutMs = opts.timeoutMs ?? 30_000;
    this.agent = new Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? 16, cert: opts.cert, key: opts.key, ca: opts.ca });
  }

  createWorkOrder(wo: WorkOrderCreate): Promise<WorkOrderView> {
    return this.call('POST', '/v1/work-orders', wo, workOrderView);
  }
  getWorkOrder(id: string): Promise<WorkOrderView> {
    return this.call('GET', `/v1/work-orders/${encodeURIComponent(id)}`, undefined, workOrderView);
  }
  async listWorkOrders(): Promise<WorkOrderView[]> {
    return (await this.call('GET', '/v1/work-orders', undefined, workOrderList)).workOrders;
  }
  updateWorkOrder(id: string, patch: WorkOrderUpdate): Promise<WorkOrderView> {
    return this.call('PATCH', `/v1/work-orders/${encodeURIComponent(id)}`, patch, workOrderView);
  }
  closeWorkOrder(id: string): Promise<WorkOrderView> {
    return this.call('POST', `/v1/work-orders/${encodeURIComponent(id)}/close`, undefined, workOrderView);
  }
  issueUnit(req: { serial: string; publicKey?: string; csr?: string; workOrder: string; idempotencyKey?: string; attestation?: KeyOriginEvidence }): Promise<UnitIssued> {
    return this.call('POST', '/v1/units', req, unitIssued);
  }
  issueBatch(units: unknown[]): Promise<UnitBatchResponse> {
    return this.call('POST', '/v1/units:batch', { units }, unitBatchResponse);
  }
  /** Confirms a unit; REGISTRATION_PENDING (retry later) and REGISTRY_REJECTED come back as ApiError. */
  confirmUnit(serial: string, fingerprintSha256: string): Promise<UnitConfirmed> {
    return this.call('POST', `/v1/units/${serial}/confirm`, { fingerprintSha256 }, unitConfirmed);
  }
  quarantineUnit(serial: string, reason: string): Promise<UnitView> {
    return this.call('POST', `/v1/units/${serial}/quarantine`, { reason }, unitView);
  }
  /** Tells the server (its console) about a pause the line lived through while it was unreachable. */
  async reportPause(p: LinePause): Promise<void> {
    await this.call('POST', '/v1/line/pauses', p, z.unknown());
  }
  releaseUnit(serial: string, reason: string): Promise<UnitView> {
    return this.call('POST', `/v1/units/${serial}/release`, { reason }, unitView);
  }
  getUnit(serial: string): Promise<UnitView> {
    return this.call('GET', `/v1/units/${serial}`, undefined, unitView);
  }
  /** The raw answer of any route, for tests and tools: status and parsed JSON (or text). */
  raw(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<{ status: number; body: unknown }> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const req = request(
        new URL(path, this.base),
        { method, agent: this.agent, timeout: this.timeoutMs, headers: { ...(payload !== undefined ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) } : {}), ...headers } },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            let parsed: unknown = text;
            if ((res.headers['content-type'] ?? '').includes('json')) {
              try { parsed = JSON.parse(text); } catch { /* leave as text */ }
            }
            resolve({ status: res.statusCode ?? 0, body: parsed });
          });
          res.on('error', reject);
        },
      );
      req.on('timeout', () => req.destroy(new Error(`request timed out after ${this.timeoutMs} ms`)));
      req.on('error', (err) => reject(new KeylineError('SERVER_UNREACHABLE', `${method} ${path}: ${err.message}`, { cause: err })));
      req.end(payload);
    });
  }
  close(): void {
    this.agent.destroy();
  }

  private async call<S extends z.ZodType>(method: string, path: string, body: unknown, schema: S): Promise<z.output<S>> {
    const res = await this.raw(method, path, body);
    if (res.status >= 200 && res.status < 300) {
      const r = schema.safeParse(res.body);
      if (!r.success) throw new KeylineError('BAD_SERVER_RESPONSE', `${method} ${path}: unexpected response shape: ${r.error.issues[0]?.message}`);
      return r.data;
    }
    const err = (res.body as { error?: { code?: string; message?: string; detail?: Record<string, unknown> } })?.error;
    throw new ApiError(err?.code ?? 'BAD_SERVER_RESPONSE', err?.message ?? `HTTP ${res.status}`, res.status, err?.detail);
  }
}
