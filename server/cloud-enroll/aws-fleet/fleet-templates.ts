/**
 * What a fleet provisioning template (keyline.json `awsFleet.templates`) says: which units may
 * use it, the thing name RegisterThing answers, and the device configuration, which AWS makes a
 * flat map of strings: here the unit's group configuration (the one the enrollment service signs),
 * flattened, beside the signed document itself so the device can verify it as in the Keyline
 * protocol (PROTOCOL.md, "The signed configuration").
 */
import { canonicalConfigJson } from '../../../common/protocol/enrollment.js';
import type { EnrollResult } from '../../enroll/enrollment-service.js';
import type { FleetTemplateConfig } from '../cloud-enroll-config.js';

/** The unit facts a template is matched against and names things with. */
export interface TemplateUnit {
  serial: string;
  workOrder: string;
  product: string;
}

/** Why the template may not provision this unit, or null when it may. */
export function templateRefusal(name: string, t: FleetTemplateConfig, u: TemplateUnit): string | null {
  if (t.workOrders && !t.workOrders.includes(u.workOrder)) return `template ${name} does not provision units of work order '${u.workOrder}'`;
  if (t.products && !t.products.includes(u.product)) return `template ${name} does not provision product '${u.product}'`;
  return null;
}

/** The thing name: the template's pattern with {serial}, {group}, {workOrder}, {product} and {parameters.NAME} replaced. */
export function thingNameOf(pattern: string, u: TemplateUnit & { group: string }, parameters: Record<string, string>): string {
  return pattern.replace(/\{(serial|group|workOrder|product|parameters\.([^}]+))\}/g, (_m, key: string, param: string | undefined) =>
    param !== undefined ? (Object.hasOwn(parameters, param) ? parameters[param]! : '') : u[key as keyof typeof u]);
}

/**
 * The deviceConfiguration: every leaf of the group's configuration under its dotted path (arrays
 * as JSON), and under `keyline.*` the group, the canonical configuration document, its signature
 * and the signer's certificate.
 */
export function deviceConfigurationOf(r: EnrollResult): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (v: unknown, path: string): void => {
    if (v !== null && typeof v === 'object' && !Array.isArray(v)) {
      for (const [k, x] of Object.entries(v)) walk(x, path ? `${path}.${k}` : k);
    } else if (path) {
      out[path] = typeof v === 'string' ? v : JSON.stringify(v);
    }
  };
  walk(r.config, '');
  out['keyline.group'] = r.group;
  out['keyline.config'] = canonicalConfigJson(r.config);
  out['keyline.configSignature'] = r.configSignature;
  out['keyline.configSignerCertificate'] = r.configSignerCertificate;
  out['keyline.reenrolled'] = String(r.reenrolled);
  return out;
}
