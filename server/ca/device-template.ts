/**
 * The device certificate template cache: one atcacert definition per (product, date variant) for a
 * fixed issuing CA, validity, CRL URL and OCSP URL, built once. The definition is the template the
 * chip rebuilds from, so the issuer fills exactly what the device will fill.
 */
import { KeylineError } from '../../common/errors.js';
import type { CertDef } from '../../secure-element/atcacert/cert-def.js';
import { type DateVariant, type DeviceDefOptions, deviceCertDef } from '../../secure-element/atcacert/device-defs.js';

/** What every template of one issuer shares. */
export type DeviceTemplateOptions = Omit<DeviceDefOptions, 'product'>;

/** Most distinct products one issuer keeps templates for; a line runs a handful. */
const MAX_TEMPLATES = 4096;

/** Builds and caches device certificate definitions for one issuing CA. */
export class DeviceTemplateCache {
  readonly #opts: DeviceTemplateOptions;
  readonly #defs = new Map<string, CertDef>();

  constructor(opts: DeviceTemplateOptions) {
    this.#opts = { ...opts, issuingCaDer: Uint8Array.from(opts.issuingCaDer) };
  }

  /** The definition for `product` in `variant`, built on first use. */
  get(product: string, variant: DateVariant): CertDef {
    const key = `${variant}\u0000${product}`;
    let def = this.#defs.get(key);
    if (!def) {
      if (this.#defs.size >= MAX_TEMPLATES) throw new KeylineError('VALIDATION_FAILED', `more than ${MAX_TEMPLATES} distinct products on one issuer`);
      def = deviceCertDef({ ...this.#opts, product }, variant);
      this.#defs.set(key, def);
    }
    return def;
  }
}
