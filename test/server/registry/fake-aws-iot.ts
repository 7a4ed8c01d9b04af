/**
 * A local stand-in for the AWS IoT control plane, for tests of the AWS registry through the real
 * @aws-sdk/client-iot. It speaks the REST routes the SDK sends (reference cloud-provisioning.md
 * §2.5, confirmed by running the SDK against it), verifies each request's SigV4 signature with the
 * test credentials, and checks each body as the API reference documents it. A request that is
 * wrong gets 400 InvalidRequestException and is recorded in `state.violations`, which tests assert
 * empty. It keeps the state AWS would keep and answers as AWS does (409 on a duplicate
 * certificate, 404 on an unknown one, 406 when a revoked certificate is changed; a CA set
 * INACTIVE or DISABLE by UpdateCACertificate no longer provisions at `connect`), and takes
 * injected faults: 429 throttling with Retry-After, 503, a permanent refusal (400), or a request
 * left hanging.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { verifySigV4 } from './fake-aws-sigv4.js';
import { runJitpTemplate } from './fake-aws-jitp.js';
import type { FakeAwsIotState, FakeCa, FakeCert } from './fake-aws-state.js';

/** Certificate statuses (CertificateStatus in the API reference). */
const STATUSES = ['ACTIVE', 'INACTIVE', 'REVOKED', 'PENDING_TRANSFER', 'REGISTER_INACTIVE', 'PENDING_ACTIVATION'];

/** Faults the fake can inject. */
export type FakeFault = 'throttle' | 'unavailable' | 'reject' | 'hang' | 'notFound';

/** Options of the fake. */
export interface FakeAwsIotOptions {
  region?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  accountId?: string;
  policies?: string[];
  thingGroups?: string[];
  thingTypes?: string[];
  /** Seconds sent in Retry-After with a throttle (default 1). */
  retryAfterSeconds?: number;
}

/** A running fake. */
export interface FakeAwsIot {
  url: string;
  state: FakeAwsIotState;
  region: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** The next `n` requests (of operation `op`, when given) fail with `kind`. */
  failNext(kind: FakeFault, n: number, op?: string): void;
  /** Drops the faults not yet served. */
  clearFaults(): void;
  /** Requests held by an injected hang whose client is still connected. */
  hanging(): number;
  /** Calls made of operation `op`. */
  count(op: string): number;
  /** A device's first TLS connection: JITP under a registered CA with auto-registration. */
  connect(certPem: string): { ok: boolean; reason?: string };
  close(): Promise<void>;
}

class AwsFault extends Error {
  constructor(readonly status: number, readonly type: string, message: string, readonly extra: Record<string, unknown> = {}) { super(message); }
}
const invalid = (m: string): AwsFault => new AwsFault(400, 'InvalidRequestException', m);
const notFound = (m: string): AwsFault => new AwsFault(404, 'ResourceNotFoundException', m);

type Handler = (req: { path: string[]; query: URLSearchParams; body: Record<string, unknown>; headers: IncomingMessage['headers'] }) => unknown;

/** Starts the fake on a loopback port. */
export async function startFakeAwsIot(opts: FakeAwsIotOptions = {}): Promise<FakeAwsIot> {
  const region = opts.region ?? 'eu-west-1';
  const account = opts.accountId ?? '123456789012';
  const credentials = { accessKeyId: opts.accessKeyId ?? 'AKIDKEYLINETEST', secretAccessKey: opts.secretAccessKey ?? 'keyline-fake-secret' };
  const state: FakeAwsIotState = {
    certificates: new Map(), things: new Map(), cas: new Map(),
    policies: new Set(opts.policies ?? []), thingGroups: new Set(opts.thingGroups ?? []), thingTypes: new Set(opts.thingTypes ?? []),
    registrationCode: createHash('sha256').update(String(Math.random())).digest('hex'),
    calls: [], violations: [],
  };
  const faults: { kind: FakeFault; op?: string }[] = [];
  const hung = new Set<ServerResponse>();
  const arn = (kind: string, id: string): string => `arn:aws:iot:${region}:${account}:${kind}/${id}`;

  const str = (b: Record<string, unknown>, k: string, required = true): string | undefined => {
    const v = b[k];
    if (v === undefined && !required) return undefined;
    if (typeof v !== 'string' || v.length === 0) throw invalid(`${k} must be a non-empty string`);
    return v;
  };
  const onlyKeys = (b: Record<string, unknown>, keys: string[]): void => {
    const extra = Object.keys(b).filter((k) => !keys.includes(k));
    if (extra.length) throw invalid(`unknown fields: ${extra.join(', ')}`);
  };
  const parseCert = (pem: string, field: string): X509Certificate => {
    if (!/^-----BEGIN CERTIFICATE-----\n[A-Za-z0-9+/=\n]+-----END CERTIFICATE-----\n?$/.test(pem)) throw invalid(`${field} is not a single PEM certificate`);
    try { return new X509Certificate(pem); } catch { throw invalid(`${field} does not parse`); }
  };
  const status = (v: unknown, field: string): string => {
    if (typeof v !== 'string' || !STATUSES.includes(v)) throw invalid(`${field} '${String(v)}' is not a CertificateStatus`);
    return v;
  };
  const certId = (id: string | undefined): string => {
    if (!id || !/^[0-9a-f]{64}$/.test(id)) throw invalid(`certificateId '${id}' is not 64 lowercase hex`);
    return id;
  };
  const thingName = (n: string | undefined): string => {
    if (!n || !/^[a-zA-Z0-9:_-]{1,128}$/.test(n)) throw invalid(`thingName '${n}' is not 1-128 of [a-zA-Z0-9:_-]`);
    return n;
  };
  const certByArn = (a: string): FakeCert => {
    const c = [...state.certificates.values()].find((x) => x.arn === a);
    if (!c) throw notFound(`principal ${a} not found`);
    return c;
  };

  function addCertificate(x: X509Certificate, pem: string, st: string, caCertificateId?: string): { certificateId: string; certificateArn: string } {
    const id = createHash('sha256').update(x.raw).digest('hex');
    const existing = state.certificates.get(id);
    if (existing) throw new AwsFault(409, 'ResourceAlreadyExistsException', 'The certificate is already provisioned or registered', { resourceId: id, resourceArn: existing.arn });
    state.certificates.set(id, { id, arn: arn('cert', id), pem, status: st, ...(caCertificateId ? { caCertificateId } : {}), policies: new Set() });
    return { certificateId: id, certificateArn: arn('cert', id) };
  }
  const issuingCa = (x: X509Certificate): FakeCa | undefined =>
    [...state.cas.values()].find((ca) => { const c = new X509Certificate(ca.pem); return x.checkIssued(c) && x.verify(c.publicKey); });
  /** The registered CA given as caCertificatePem, when it signed `x` (AWS refuses any other CA). */
  const namedCa = (x: X509Certificate, given: X509Certificate): FakeCa => {
    const ca = state.cas.get(createHash('sha256').update(given.raw).digest('hex'));
    if (!ca) throw new AwsFault(400, 'CertificateValidationException', 'caCertificatePem is not a registered CA certificate');
    if (!x.checkIssued(given) || !x.verify(given.publicKey)) throw new AwsFault(400, 'CertificateValidationException', 'the certificate is not signed by caCertificatePem');
    return ca;
  };

  function createThing(name: string, thingTypeName: string | undefined, attributes: Record<string, string>): { thingName: string; thingArn: string; thingId: string } {
    for (const [k, v] of Object.entries(attributes)) {
      if (!/^[a-zA-Z0-9_.,@/:#-]{1,128}$/.test(k) || typeof v !== 'string' || !/^[a-zA-Z0-9_.,@/:#=[\]-]{0,800}$/.test(v)) throw invalid(`attribute ${k}=${String(v)} is not allowed`);
    }
    // Thing-types docs: 3 attributes without a thing type, 50 with one.
    if (Object.keys(attributes).length > (thingTypeName ? 50 : 3)) throw invalid(`${Object.keys(attributes).length} attributes exceed the limit`);
    if (thingTypeName && !state.thingTypes.has(thingTypeName)) throw notFound(`thing type ${thingTypeName} not found`);
    const t = state.things.get(name);
    if (t) {
      // CreateThing is idempotent for the same configuration; another one is a conflict.
      const same = t.thingTypeName === thingTypeName && JSON.stringify(Object.entries(t.attributes).sort()) === JSON.stringify(Object.entries(attributes).sort());
      if (!same) throw new AwsFault(409, 'ResourceAlreadyExistsException', `thing ${name} already exists with a different configuration`, { resourceId: t.id, resourceArn: t.arn });
      return { thingName: name, thingArn: t.arn, thingId: t.id };
    }
    const id = createHash('sha256').update(name).digest('hex').slice(0, 32);
    state.things.set(name, { name, arn: arn('thing', name), id, ...(thingTypeName ? { thingTypeName } : {}), attributes, principals: new Set(), groups: new Set() });
    return { thingName: name, thingArn: arn('thing', name), thingId: id };
  }

  const describeCert = (c: FakeCert): unknown => ({ certificateDescription: { certificateArn: c.arn, certificateId: c.id, status: c.status, certificatePem: c.pem, ...(c.caCertificateId ? { caCertificateId: c.caCertificateId } : {}), creationDate: 1.7e9 } });

  const routes: [string, RegExp, string, Handler][] = [
    ['POST', /^\/certificate\/register-no-ca$/, 'RegisterCertificateWithoutCA', ({ body }) => {
      onlyKeys(body, ['certificatePem', 'status']);
      const pem = str(body, 'certificatePem')!;
      return addCertificate(parseCert(pem, 'certificatePem'), pem, body.status === undefined ? 'INACTIVE' : status(body.status, 'status'));
    }],
    ['POST', /^\/certificate\/register$/, 'RegisterCertificate', ({ body }) => {
      onlyKeys(body, ['certificatePem', 'caCertificatePem', 'status', 'setAsActive']);
      const pem = str(body, 'certificatePem')!;
      const x = parseCert(pem, 'certificatePem');
      const caPem = str(body, 'caCertificatePem', false);
      // Named or not, the CA must be registered and must have signed the certificate (RegisterCertificate).
      const ca = caPem ? namedCa(x, parseCert(caPem, 'caCertificatePem')) : issuingCa(x);
      if (!ca) throw new AwsFault(400, 'CertificateValidationException', 'the certificate is not signed by a registered CA');
      return addCertificate(x, pem, body.status === undefined ? 'INACTIVE' : status(body.status, 'status'), ca.id);
    }],
    ['PUT', /^\/target-policies\/([^/]+)$/, 'AttachPolicy', ({ path, body }) => {
      onlyKeys(body, ['target']);
      if (!state.policies.has(path[1]!)) throw notFound(`policy ${path[1]} not found`);
      certByArn(str(body, 'target')!).policies.add(path[1]!);
      return {};
    }],
    ['POST', /^\/things\/([^/]+)$/, 'CreateThing', ({ path, body }) => {
      onlyKeys(body, ['thingTypeName', 'attributePayload', 'billingGroupName']);
      const payload = (body.attributePayload ?? {}) as Record<string, unknown>;
      if (typeof payload !== 'object' || Array.isArray(payload)) throw invalid('attributePayload must be an object');
      onlyKeys(payload, ['attributes', 'merge']);
      const attrs = (payload.attributes ?? {}) as Record<string, string>;
      return createThing(thingName(path[1]), str(body, 'thingTypeName', false), attrs);
    }],
    ['GET', /^\/things\/([^/]+)$/, 'DescribeThing', ({ path }) => {
      const t = state.things.get(path[1]!);
      if (!t) throw notFound(`thing ${path[1]} not found`);
      return { thingName: t.name, thingArn: t.arn, thingId: t.id, attributes: t.attributes, ...(t.thingTypeName ? { thingTypeName: t.thingTypeName } : {}), version: 1 };
    }],
    ['PUT', /^\/things\/([^/]+)\/principals$/, 'AttachThingPrincipal', ({ path, body, headers }) => {
      onlyKeys(body, []);
      const principal = headers['x-amzn-principal'];
      if (typeof principal !== 'string' || !principal) throw invalid('x-amzn-principal header missing');
      const t = state.things.get(thingName(path[1]));
      if (!t) throw notFound(`thing ${path[1]} not found`);
      t.principals.add(certByArn(principal).arn);
      return {};
    }],
    ['GET', /^\/things\/([^/]+)\/principals$/, 'ListThingPrincipals', ({ path }) => {
      const t = state.things.get(path[1]!);
      if (!t) throw notFound(`thing ${path[1]} not found`);
      return { principals: [...t.principals] };
    }],
    ['PUT', /^\/thing-groups\/addThingToThingGroup$/, 'AddThingToThingGroup', ({ body }) => {
      onlyKeys(body, ['thingGroupName', 'thingGroupArn', 'thingName', 'thingArn', 'overrideDynamicGroups']);
      const g = str(body, 'thingGroupName')!;
      const t = state.things.get(thingName(str(body, 'thingName')));
      if (!state.thingGroups.has(g)) throw notFound(`thing group ${g} not found`);
      if (!t) throw notFound(`thing ${String(body.thingName)} not found`);
      t.groups.add(g);
      return {};
    }],
    ['PUT', /^\/certificates\/([^/]+)$/, 'UpdateCertificate', ({ path, query, body }) => {
      onlyKeys(body, []);
      const newStatus = status(query.get('newStatus'), 'newStatus');
      const c = state.certificates.get(certId(path[1]));
      if (!c) throw notFound(`certificate ${path[1]} not found`);
      // A revoked certificate cannot change status; PENDING_TRANSFER is set only by transfer calls.
      if (c.status === 'REVOKED' || newStatus === 'PENDING_TRANSFER') throw new AwsFault(406, 'CertificateStateException', `certificate ${c.id} is ${c.status}`);
      c.status = newStatus;
      return {};
    }],
    ['GET', /^\/certificates\/([^/]+)$/, 'DescribeCertificate', ({ path }) => {
      const c = state.certificates.get(certId(path[1]));
      if (!c) throw notFound(`certificate ${path[1]} not found`);
      return describeCert(c);
    }],
    ['GET', /^\/registrationcode$/, 'GetRegistrationCode', () => ({ registrationCode: state.registrationCode })],
    ['POST', /^\/cacertificate$/, 'RegisterCACertificate', ({ query, body }) => {
      onlyKeys(body, ['caCertificate', 'verificationCertificate', 'registrationConfig', 'tags', 'certificateMode']);
      for (const q of ['setAsActive', 'allowAutoRegistration']) if (query.has(q) && !/^(true|false)$/.test(query.get(q)!)) throw invalid(`${q} must be a boolean`);
      const caPem = str(body, 'caCertificate')!;
      const ca = parseCert(caPem, 'caCertificate');
      if (!ca.ca) throw new AwsFault(400, 'CertificateValidationException', 'caCertificate is not a CA certificate');
      const verificationPem = str(body, 'verificationCertificate')!;
      const ver = parseCert(verificationPem, 'verificationCertificate');
      // Proof of possession (register-CA-cert.html): CN = the registration code, signed by the CA key.
      if (!ver.subject.split('\n').includes(`CN=${state.registrationCode}`)) throw invalid(`verificationCertificate subject '${ver.subject}' lacks CN=<registration code>`);
      if (!ver.verify(ca.publicKey) || !ver.checkIssued(ca)) throw invalid('verificationCertificate is not signed by caCertificate');
      const rc = body.registrationConfig as FakeCa['registrationConfig'] | undefined;
      if (rc !== undefined) {
        onlyKeys(rc as Record<string, unknown>, ['templateBody', 'templateName', 'roleArn']);
        if (!!rc.templateBody === !!rc.templateName) throw invalid('registrationConfig needs templateBody or templateName');
        if (rc.templateBody) { try { JSON.parse(rc.templateBody); } catch { throw invalid('templateBody is not JSON'); } }
        if (!rc.roleArn || !/^arn:aws:iam::\d{12}:role\/.+/.test(rc.roleArn)) throw invalid(`roleArn '${rc.roleArn}' is not a role ARN`);
      }
      const id = createHash('sha256').update(ca.raw).digest('hex');
      if (state.cas.has(id)) throw new AwsFault(409, 'ResourceAlreadyExistsException', 'The CA certificate is already registered', { resourceId: id, resourceArn: arn('cacert', id) });
      state.cas.set(id, {
        id, arn: arn('cacert', id), pem: caPem, verificationPem, status: query.get('setAsActive') === 'true' ? 'ACTIVE' : 'INACTIVE',
        autoRegistration: query.get('allowAutoRegistration') === 'true' ? 'ENABLE' : 'DISABLE', ...(rc ? { registrationConfig: rc } : {}),
      });
      return { certificateArn: arn('cacert', id), certificateId: id };
    }],
    // PUT /cacertificate/{caCertificateId}?newStatus=&newAutoRegistrationStatus= (UpdateCACertificate API reference).
    ['PUT', /^\/cacertificate\/([^/]+)$/, 'UpdateCACertificate', ({ path, query, body }) => {
      onlyKeys(body, ['registrationConfig', 'removeAutoRegistration']);
      const extra = [...query.keys()].filter((k) => k !== 'newStatus' && k !== 'newAutoRegistrationStatus');
      if (extra.length) throw invalid(`unknown query parameters: ${extra.join(', ')}`);
      const newStatus = query.get('newStatus');
      const newAuto = query.get('newAutoRegistrationStatus');
      // REGISTER_INACTIVE is deprecated for CAs ("should not be used"): ACTIVE | INACTIVE only.
      if (newStatus !== null && !['ACTIVE', 'INACTIVE'].includes(newStatus)) throw invalid(`newStatus '${newStatus}' is not ACTIVE or INACTIVE`);
      if (newAuto !== null && !['ENABLE', 'DISABLE'].includes(newAuto)) throw invalid(`newAutoRegistrationStatus '${newAuto}' is not ENABLE or DISABLE`);
      const ca = state.cas.get(certId(path[1]));
      if (!ca) throw notFound(`CA certificate ${path[1]} not found`);
      if (body.removeAutoRegistration === true) delete ca.registrationConfig;
      if (newStatus !== null) ca.status = newStatus;
      if (newAuto !== null) ca.autoRegistration = newAuto;
      return {};
    }],
    ['GET', /^\/cacertificate\/([^/]+)$/, 'DescribeCACertificate', ({ path }) => {
      const ca = state.cas.get(certId(path[1]));
      if (!ca) throw notFound(`CA certificate ${path[1]} not found`);
      return {
        certificateDescription: { certificateArn: ca.arn, certificateId: ca.id, status: ca.status, autoRegistrationStatus: ca.autoRegistration, certificatePem: ca.pem },
        ...(ca.registrationConfig ? { registrationConfig: ca.registrationConfig } : {}),
      };
    }],
  ];

  const send = (res: ServerResponse, code: number, body: unknown, headers: Record<string, string> = {}): void => {
    res.writeHead(code, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const fail = (res: ServerResponse, f: AwsFault, headers: Record<string, string> = {}): void =>
    send(res, f.status, { message: f.message, ...f.extra }, { 'x-amzn-errortype': f.type, ...headers });

  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const raw = Buffer.concat(chunks);
      const url = new URL(req.url ?? '/', 'http://fake');
      const route = routes.find(([m, re]) => m === req.method && re.test(url.pathname));
      const violation = (m: string): void => {
        state.violations.push(`${req.method} ${url.pathname}: ${m}`);
        fail(res, invalid(m));
      };
      if (!route) return violation('no such operation');
      const [, re, op, handler] = route;
      const auth = verifySigV4({ method: req.method!, url: req.url!, headers: req.headers, body: raw }, { ...credentials, region, service: 'iot' });
      if (auth) return violation(auth);
      let body: Record<string, unknown> = {};
      if (raw.length) {
        if (!String(req.headers['content-type']).startsWith('application/json')) return violation('a body without content-type application/json');
        try { body = JSON.parse(raw.toString('utf8')) as Record<string, unknown>; } catch { return violation('body is not JSON'); }
        if (typeof body !== 'object' || body === null || Array.isArray(body)) return violation('body is not a JSON object');
      }
      const fi = faults.findIndex((f) => !f.op || f.op === op);
      if (fi >= 0) {
        const [f] = faults.splice(fi, 1);
        state.calls.push({ op: `${op}!${f!.kind}`, url: url.pathname });
        if (f!.kind === 'throttle') return fail(res, new AwsFault(429, 'ThrottlingException', 'Rate exceeded'), { 'retry-after': String(opts.retryAfterSeconds ?? 1) });
        if (f!.kind === 'unavailable') return fail(res, new AwsFault(503, 'ServiceUnavailableException', 'Service unavailable'));
        // A refusal no retry can fix (as for a request AWS finds invalid); injected, so not a violation.
        if (f!.kind === 'reject') return fail(res, new AwsFault(400, 'InvalidRequestException', 'injected: request refused'));
        // A stale read: the resource appears absent (e.g. registered by a concurrent call a moment later).
        if (f!.kind === 'notFound') return fail(res, notFound('injected: resource not found'));
        hung.add(res);
        res.on('close', () => hung.delete(res));
        return;
      }
      state.calls.push({ op, url: url.pathname });
      try {
        const path = re.exec(url.pathname)!.map((s) => decodeURIComponent(s));
        send(res, 200, handler({ path, query: url.searchParams, body, headers: req.headers }));
      } catch (err) {
        if (!(err instanceof AwsFault)) return fail(res, new AwsFault(500, 'InternalFailureException', (err as Error).message));
        if (err.type === 'InvalidRequestException') state.violations.push(`${op}: ${err.message}`);
        fail(res, err);
      }
    });
  });
  const sockets = new Set<Socket>();
  server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}`,
    state, region, credentials,
    failNext(kind, n, op) { for (let i = 0; i < n; i++) faults.push({ kind, ...(op ? { op } : {}) }); },
    clearFaults() { faults.length = 0; },
    hanging: () => hung.size,
    count: (op) => state.calls.filter((c) => c.op === op).length,
    connect(certPem) {
      const x = new X509Certificate(certPem);
      const id = createHash('sha256').update(x.raw).digest('hex');
      const known = state.certificates.get(id);
      if (known) return known.status === 'ACTIVE' ? { ok: true } : { ok: false, reason: `certificate ${known.status}` };
      const ca = issuingCa(x);
      if (!ca || ca.status !== 'ACTIVE' || ca.autoRegistration !== 'ENABLE' || !ca.registrationConfig?.templateBody) return { ok: false, reason: 'no CA for JITP' };
      return runJitpTemplate({ state, ca, cert: x, pem: certPem, arn, createThing });
    },
    async close() {
      for (const res of hung) res.destroy();
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
