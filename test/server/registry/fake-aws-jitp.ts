/**
 * What AWS IoT does at a device's first connection under a CA registered for just-in-time
 * provisioning (reference cloud-provisioning.md §1.2-1.3): it registers the certificate
 * PENDING_ACTIVATION, runs the CA's template with parameters taken only from the subject DN
 * (plus the certificate Id), and on success leaves the certificate in the template's status with
 * the thing, policy and principal attached. A parameter the DN lacks fails provisioning.
 */
import { createHash, type X509Certificate } from 'node:crypto';
import type { FakeAwsIotState, FakeCa } from './fake-aws-state.js';

/** Subject DN attribute → JITP template parameter (jit-provisioning.html). */
const DN_PARAMS: Record<string, string> = {
  C: 'Country', O: 'Organization', OU: 'OrganizationalUnit', dnQualifier: 'DistinguishedNameQualifier',
  ST: 'StateName', CN: 'CommonName', serialNumber: 'SerialNumber',
};

type Value = string | { Ref: string } | { 'Fn::Join': [string, Value[]] } | Value[] | Record<string, unknown>;

/** Runs the CA's JITP template for `cert`; returns whether provisioning succeeded. */
export function runJitpTemplate(p: {
  state: FakeAwsIotState; ca: FakeCa; cert: X509Certificate; pem: string; arn: (kind: string, id: string) => string;
  createThing: (name: string, type: string | undefined, attributes: Record<string, string>) => unknown;
}): { ok: boolean; reason?: string } {
  const id = createHash('sha256').update(p.cert.raw).digest('hex');
  const params: Record<string, string> = { 'AWS::IoT::Certificate::Id': id };
  for (const line of p.cert.subject.split('\n')) {
    const [k, v] = [line.slice(0, line.indexOf('=')), line.slice(line.indexOf('=') + 1)];
    if (DN_PARAMS[k]) params[`AWS::IoT::Certificate::${DN_PARAMS[k]}`] = v;
  }
  const cert = { id, arn: p.arn('cert', id), pem: p.pem, status: 'PENDING_ACTIVATION', caCertificateId: p.ca.id, policies: new Set<string>() };
  p.state.certificates.set(id, cert);
  const template = JSON.parse(p.ca.registrationConfig!.templateBody!) as { Parameters?: Record<string, { Default?: string }>; Resources?: Record<string, { Type: string; Properties?: Record<string, Value> }> };
  for (const [name, decl] of Object.entries(template.Parameters ?? {})) {
    if (params[name] === undefined && decl.Default === undefined) return { ok: false, reason: `certificate lacks ${name}` };
    params[name] ??= decl.Default!;
  }
  const ev = (v: Value | undefined): unknown => {
    if (v === undefined || typeof v === 'string') return v;
    if (Array.isArray(v)) return v.map(ev);
    if ('Ref' in v) return params[v.Ref as string];
    if ('Fn::Join' in v) { const [sep, list] = v['Fn::Join'] as [string, Value[]]; return list.map(ev).join(sep); }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, ev(x as Value)]));
  };
  let status = 'ACTIVE';
  let thing: string | undefined;
  for (const r of Object.values(template.Resources ?? {})) {
    const props = (r.Properties ?? {}) as Record<string, Value>;
    if (r.Type === 'AWS::IoT::Certificate') {
      if (ev(props.CertificateId) !== id) return { ok: false, reason: 'template CertificateId is not the connecting certificate' };
      status = (ev(props.Status) as string | undefined) ?? status;
    } else if (r.Type === 'AWS::IoT::Thing') {
      thing = ev(props.ThingName) as string;
      p.createThing(thing, ev(props.ThingTypeName) as string | undefined, (ev(props.AttributePayload) ?? {}) as Record<string, string>);
      const t = p.state.things.get(thing)!;
      t.principals.add(cert.arn);
      for (const g of (ev(props.ThingGroups) ?? []) as string[]) {
        if (!p.state.thingGroups.has(g)) return { ok: false, reason: `thing group ${g} not found` };
        t.groups.add(g);
      }
    } else if (r.Type === 'AWS::IoT::Policy') {
      const name = ev(props.PolicyName) as string;
      if (!p.state.policies.has(name)) return { ok: false, reason: `policy ${name} not found` };
      cert.policies.add(name);
    } else {
      return { ok: false, reason: `resource type ${r.Type} not allowed in JITP` };
    }
  }
  cert.status = status;
  return thing ? { ok: true } : { ok: false, reason: 'template creates no thing' };
}
