/**
 * A local stand-in for the Azure DPS service API (api-version 2021-10-01 routes: /enrollments,
 * /enrollmentGroups, /registrations), served over HTTPS with a throw-away 'localhost' certificate,
 * so that the official ProvisioningServiceClient can be driven end to end. It keeps state as DPS
 * does (etags change on every write; a GET answers certificate `info`, not the PEM) and checks what
 * arrives: the SharedAccessSignature (HMAC-SHA256 with the key it knows), api-version, JSON shape,
 * PEMs that parse, If-Match on updates. Every departure is recorded in `violations`.
 */
import { execFileSync } from 'node:child_process';
import { createHash, createHmac, randomBytes, timingSafeEqual, X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '../../../common/log.js';
import { azureDpsRegistryConfig, type AzureDpsRegistryConfig } from '../../../server/registry/azure-dps-config.js';
import type { RegistryContext } from '../../../server/registry/registry-kind.js';

type X509Certs = { primary?: { certificate?: unknown } };
/** The fields of a PUT body the fake looks at (the rest is kept as sent). */
interface EntryBody {
  registrationId?: unknown;
  enrollmentGroupId?: unknown;
  attestation?: { type?: unknown; x509?: { clientCertificates?: X509Certs; signingCertificates?: X509Certs } };
  provisioningStatus?: unknown;
  allocationPolicy?: unknown;
  iotHubs?: unknown;
  createdDateTimeUtc?: unknown;
  [field: string]: unknown;
}

/** An enrollment (individual or group) as the fake keeps it: the body written, plus DPS's fields. */
export interface StoredEntry {
  body: EntryBody;
  /** The PEM of the attestation certificate (client certificate or signing CA). */
  pem: string;
  etag: string;
  writes: number;
}

/** A device registration state, as GET /registrations/{id} answers it. */
export interface RegistrationState {
  registrationId: string;
  status: 'unassigned' | 'assigning' | 'assigned' | 'failed' | 'disabled';
  assignedHub?: string;
  deviceId?: string;
  etag: string;
}

/** Everything the fake holds; tests read it directly. */
export interface FakeDpsState {
  enrollments: Map<string, StoredEntry>;
  groups: Map<string, StoredEntry>;
  registrations: Map<string, RegistrationState>;
  /** Every request: method, path without query, answered status ('hang' if never answered). */
  requests: { method: string; path: string; status: number | 'hang' }[];
}

/** A running fake DPS. */
export interface FakeDps {
  host: 'localhost';
  port: number;
  url: string;
  /** PEM that the client must trust (the server certificate is self-signed). */
  ca: string;
  caPath: string;
  /** The DPS host name the tokens must name (sr), and the shared access policy. */
  hostName: string;
  keyName: string;
  connectionString: string;
  state: FakeDpsState;
  violations: string[];
  /** The next `n` requests answer 429 (Retry-After: retryAfterS), 503, 400 (a permanent refusal), or never. */
  failNext(kind: 429 | 503 | 400 | 'hang', n?: number, retryAfterS?: number): void;
  /** A device presenting `certPem` registers, as DPS decides: individual entry first, then groups. */
  deviceConnects(certPem: string): RegistrationState;
  close(): Promise<void>;
}

const API_VERSION = /^\d{4}-\d{2}-\d{2}(-preview)?$/;
const ALLOCATION = ['hashed', 'geoLatency', 'static', 'custom'];
const newEtag = (): string => `"${randomBytes(8).toString('hex')}"`;

/** The certificate info DPS answers in place of the PEM (X509CertificateInfo). */
function certInfo(pem: string): Record<string, unknown> {
  const c = new X509Certificate(pem);
  return {
    subjectName: c.subject.replace(/\n/g, ', '), issuerName: c.issuer.replace(/\n/g, ', '),
    sha1Thumbprint: c.fingerprint.replace(/:/g, ''), sha256Thumbprint: c.fingerprint256.replace(/:/g, ''),
    notBeforeUtc: new Date(c.validFrom).toISOString(), notAfterUtc: new Date(c.validTo).toISOString(),
    serialNumber: c.serialNumber, version: 3,
  };
}

/** Starts the fake on a free port; `dir` holds its server key and certificate (a temp dir if absent). */
export async function startFakeAzureDps(opts: { dir?: string; hostName?: string; keyName?: string; key?: string } = {}): Promise<FakeDps> {
  const hostName = opts.hostName ?? 'keyline-test.azure-devices-provisioning.net';
  const keyName = opts.keyName ?? 'provisioningserviceowner';
  const key = opts.key ?? randomBytes(32).toString('base64');
  const ownDir = opts.dir === undefined;
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'fake-dps-'));
  const keyPath = join(dir, 'fake-dps.key.pem');
  const caPath = join(dir, 'fake-dps.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyPath, '-out', caPath,
    '-days', '2', '-subj', '/CN=localhost', '-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { stdio: 'ignore' });
  const ca = readFileSync(caPath, 'utf8');

  const state: FakeDpsState = { enrollments: new Map(), groups: new Map(), registrations: new Map(), requests: [] };
  const violations: string[] = [];
  const faults: { kind: 429 | 503 | 400 | 'hang'; retryAfterS: number }[] = [];
  const hanging = new Set<ServerResponse>();

  /** Checks the Authorization header: SharedAccessSignature sr=&sig=&se=&skn= signed with our key. */
  function checkAuth(header: string | undefined): string | null {
    const m = /^SharedAccessSignature (.+)$/.exec(header ?? '');
    if (!m) return `Authorization is not a SharedAccessSignature: ${header ? 'other scheme' : 'absent'}`;
    const f = new Map(m[1]!.split('&').map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)] as const));
    for (const k of ['sr', 'sig', 'se', 'skn']) if (!f.get(k)) return `SharedAccessSignature lacks ${k}`;
    if (decodeURIComponent(f.get('sr')!).toLowerCase() !== hostName.toLowerCase()) return `sr ${f.get('sr')} is not ${hostName}`;
    if (decodeURIComponent(f.get('skn')!) !== keyName) return `skn ${f.get('skn')} is not ${keyName}`;
    const se = Number(f.get('se'));
    if (!Number.isInteger(se) || se * 1000 < Date.now()) return `se ${f.get('se')} is expired or not seconds`;
    // DPS security tokens: HMAC-SHA256(key, url-encoded resource + '\n' + expiry), base64, url-encoded.
    const want = createHmac('sha256', Buffer.from(key, 'base64')).update(`${f.get('sr')}\n${f.get('se')}`).digest();
    const got = Buffer.from(decodeURIComponent(f.get('sig')!), 'base64');
    return got.length === want.length && timingSafeEqual(got, want) ? null : 'SharedAccessSignature signature does not verify';
  }

  /** Checks a PUT body's shape; returns the attestation PEM, or records violations and returns null. */
  function checkBody(kind: 'enrollments' | 'enrollmentGroups', id: string, body: EntryBody): string | null {
    const bad = (msg: string): null => {
      violations.push(`PUT /${kind}/${id}: ${msg}`);
      return null;
    };
    const idField = kind === 'enrollments' ? 'registrationId' : 'enrollmentGroupId';
    const given = body?.[idField];
    if (typeof given !== 'string' || given.toLowerCase() !== id.toLowerCase()) return bad(`${idField} ${String(given)} does not match the path`);
    if (body.attestation?.type !== 'x509') return bad(`attestation.type ${String(body.attestation?.type)} is not x509`);
    const certs = kind === 'enrollments' ? body.attestation.x509?.clientCertificates : body.attestation.x509?.signingCertificates;
    const pem = certs?.primary?.certificate;
    let cert: X509Certificate;
    try {
      if (typeof pem !== 'string' || !pem.includes('-----BEGIN CERTIFICATE-----')) throw new Error('not PEM');
      cert = new X509Certificate(pem);
    } catch {
      return bad('attestation certificate is not a PEM that parses');
    }
    if (body.provisioningStatus !== undefined && !['enabled', 'disabled'].includes(String(body.provisioningStatus))) return bad(`provisioningStatus ${String(body.provisioningStatus)}`);
    if (body.allocationPolicy !== undefined && !ALLOCATION.includes(String(body.allocationPolicy))) return bad(`allocationPolicy ${String(body.allocationPolicy)}`);
    if (body.iotHubs !== undefined && !(Array.isArray(body.iotHubs) && body.iotHubs.every((h: unknown) => typeof h === 'string'))) return bad('iotHubs is not a string array');
    // X.509 attestation: the registration id is the leaf CN (DPS concepts-x509-attestation).
    if (kind === 'enrollments' && !cert.subject.split('\n').includes(`CN=${id}`)) return bad(`certificate subject ${cert.subject} has no CN=${id}`);
    if (kind === 'enrollmentGroups' && !cert.ca) return bad('signing certificate is not a CA');
    return pem;
  }

  function send(res: ServerResponse, req: { method: string; path: string }, status: number, body?: unknown, headers: Record<string, string> = {}): void {
    state.requests.push({ ...req, status });
    const text = body === undefined ? '' : JSON.stringify(body);
    res.writeHead(status, { ...(text ? { 'content-type': 'application/json; charset=utf-8' } : {}), ...headers });
    res.end(text);
  }
  const notFound = (what: string) => ({ errorCode: 404201, trackingId: randomBytes(8).toString('hex'), message: `${what} not found`, timestampUtc: new Date().toISOString() });

  /** The entry as a GET answers it: the certificate replaced by its info. */
  function view(kind: 'enrollments' | 'enrollmentGroups', e: StoredEntry): Record<string, unknown> {
    const certsKey = kind === 'enrollments' ? 'clientCertificates' : 'signingCertificates';
    return { ...e.body, etag: e.etag, attestation: { type: 'x509', x509: { [certsKey]: { primary: { info: certInfo(e.pem) } } } } };
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const url = new URL(req.url ?? '/', 'https://localhost');
    const r = { method: req.method ?? 'GET', path: url.pathname };
    const route = /^\/(enrollments|enrollmentGroups|registrations)\/([^/]+)$/.exec(url.pathname);
    if (!API_VERSION.test(url.searchParams.get('api-version') ?? '')) violations.push(`${r.method} ${r.path}: api-version absent or malformed`);
    const authProblem = checkAuth(req.headers.authorization);
    if (authProblem) {
      violations.push(`${r.method} ${r.path}: ${authProblem}`);
      return send(res, r, 401, { errorCode: 401002, message: 'Unauthorized' });
    }
    const fault = faults.shift();
    if (fault?.kind === 'hang') {
      state.requests.push({ ...r, status: 'hang' });
      hanging.add(res);
      return;
    }
    if (fault) return send(res, r, fault.kind, { errorCode: fault.kind * 1000 + 1, message: 'injected' }, fault.kind === 429 ? { 'retry-after': String(fault.retryAfterS) } : {});
    if (!route) return send(res, r, 404, notFound(url.pathname));
    const kind = route[1] as 'enrollments' | 'enrollmentGroups' | 'registrations';
    const id = decodeURIComponent(route[2]!);
    const lid = id.toLowerCase(); // DPS ids are case-insensitive
    if (kind === 'registrations') {
      const s = state.registrations.get(lid);
      if (r.method === 'GET') return s ? send(res, r, 200, s) : send(res, r, 404, notFound('Registration'));
      if (r.method === 'DELETE') {
        state.registrations.delete(lid);
        return send(res, r, 204);
      }
      return send(res, r, 405);
    }
    const map = kind === 'enrollments' ? state.enrollments : state.groups;
    const current = map.get(lid);
    const ifMatch = req.headers['if-match'];
    if (r.method === 'GET') return current ? send(res, r, 200, view(kind, current), { etag: current.etag }) : send(res, r, 404, notFound('Enrollment'));
    if (r.method === 'DELETE') {
      if (!current) return send(res, r, 404, notFound('Enrollment'));
      if (ifMatch && ifMatch !== current.etag) return send(res, r, 412, { errorCode: 412001, message: 'etag mismatch' });
      map.delete(lid);
      return send(res, r, 204);
    }
    if (r.method !== 'PUT') return send(res, r, 405);
    if (!String(req.headers['content-type']).startsWith('application/json')) violations.push(`PUT ${r.path}: content-type ${req.headers['content-type']}`);
    let body: EntryBody;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8'));
    } catch {
      violations.push(`PUT ${r.path}: body is not JSON`);
      return send(res, r, 400, { errorCode: 400004, message: 'bad JSON' });
    }
    const pem = checkBody(kind, id, body);
    if (!pem) return send(res, r, 400, { errorCode: 400004, message: 'invalid enrollment' });
    if (current && !ifMatch) violations.push(`PUT ${r.path}: update of an existing entry without If-Match`);
    if (current ? ifMatch !== current.etag : ifMatch !== undefined) return send(res, r, 412, { errorCode: 412001, message: 'etag mismatch' });
    const now = new Date().toISOString();
    const { etag: _etag, attestation: _att, registrationState: _rs, ...rest } = body;
    const entry: StoredEntry = {
      body: { ...rest, provisioningStatus: body.provisioningStatus ?? 'enabled', createdDateTimeUtc: current?.body.createdDateTimeUtc ?? now, lastUpdatedDateTimeUtc: now },
      pem, etag: newEtag(), writes: (current?.writes ?? 0) + 1,
    };
    map.set(lid, entry);
    return send(res, r, 200, view(kind, entry), { etag: entry.etag });
  }

  const server: Server = createServer({ key: readFileSync(keyPath), cert: ca }, (req, res) => {
    handle(req, res).catch((err) => { violations.push(`fake error: ${(err as Error).message}`); res.destroy(); });
  });
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;

  function deviceConnects(certPem: string): RegistrationState {
    const cert = new X509Certificate(certPem);
    const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1] ?? '';
    const sha = createHash('sha256').update(cert.raw).digest('hex');
    const individual = state.enrollments.get(cn.toLowerCase());
    let status: RegistrationState['status'] = 'failed';
    // Precedence: an individual entry for this certificate decides alone; else an enabled group whose CA signed it.
    if (individual && createHash('sha256').update(new X509Certificate(individual.pem).raw).digest('hex') === sha) {
      status = individual.body.provisioningStatus === 'enabled' ? 'assigned' : 'disabled';
    } else if ([...state.groups.values()].some((g) => g.body.provisioningStatus === 'enabled' && cert.checkIssued(new X509Certificate(g.pem)) && cert.verify(new X509Certificate(g.pem).publicKey))) {
      status = 'assigned';
    }
    const s: RegistrationState = { registrationId: cn, status, etag: newEtag(), ...(status === 'assigned' ? { assignedHub: 'keyline-test.azure-devices.net', deviceId: cn } : {}) };
    state.registrations.set(cn.toLowerCase(), s);
    return s;
  }

  return {
    host: 'localhost', port, url: `https://localhost:${port}`, ca, caPath, hostName, keyName,
    connectionString: `HostName=${hostName};SharedAccessKeyName=${keyName};SharedAccessKey=${key}`,
    state, violations, deviceConnects,
    failNext(kind, n = 1, retryAfterS = 2) {
      for (let i = 0; i < n; i++) faults.push({ kind, retryAfterS });
    },
    async close() {
      for (const res of hanging) res.destroy();
      server.closeAllConnections();
      await new Promise<void>((ok) => server.close(() => ok()));
      if (ownDir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A registry context whose connection string (any secret reference) is the fake's. */
export function fakeDpsContext(fake: FakeDps, issuingCaPem: string, log: Logger): RegistryContext {
  return { secret: () => fake.connectionString, issuingCaPem, issuingCaPemFor: () => issuingCaPem, log };
}

/** An 'azure-dps' section pointed at the fake (endpoint host, port and CA), with `extra` fields. */
export function fakeDpsConfig(fake: FakeDps, extra: Record<string, unknown> = {}): AzureDpsRegistryConfig {
  return azureDpsRegistryConfig.parse({
    type: 'azure-dps', connectionString: { env: 'KEYLINE_DPS_CONNECTION' },
    endpoint: { host: fake.host, port: fake.port, ca: fake.caPath }, ...extra,
  });
}
