/**
 * RFC 7512 `pkcs11:` URIs: the way keys are named in config and in Signer.keyRef (as step-ca does).
 * Only the attributes Keyline uses are typed; others are kept so a URI round-trips.
 */
import { ValidationError } from '../../common/errors.js';

/** The parts of a pkcs11: URI Keyline reads (RFC 7512 §2.3). */
export interface Pkcs11Uri {
  /** Token label (`token=`). */
  token?: string;
  /** Object label, i.e. CKA_LABEL (`object=`). */
  object?: string;
  /** CKA_ID bytes (`id=`, percent-encoded). */
  id?: Uint8Array;
  /** Object class (`type=`). */
  type?: 'private' | 'public' | 'cert' | 'secret-key' | 'data';
  /** Token serial number (`serial=`). */
  serial?: string;
  /** Query attributes (`?pin-source=...&module-path=...`), decoded. */
  query: Record<string, string>;
  /** Path attributes not listed above, decoded, in order. */
  other: Array<[string, string]>;
}

const TYPES = new Set(['private', 'public', 'cert', 'secret-key', 'data']);

// RFC 7512 §2.3: pk11-pchar is unreserved / pct-encoded / ":" / "[" / "]" / "@" / "!" / "$" / "'" / "(" / ")" / "*" / "+" / "," / "=".
const PCHAR_SAFE = /[A-Za-z0-9\-._~:[\]@!$'()*+,=]/;

function pctDecode(field: string, s: string): Uint8Array {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '%') {
      const hex = s.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) throw new ValidationError('VALIDATION_FAILED', `pkcs11 URI: bad percent-encoding in ${field}: '${s}'`);
      out.push(parseInt(hex, 16));
      i += 2;
    } else {
      out.push(...Buffer.from(s[i]!, 'utf8'));
    }
  }
  return Uint8Array.from(out);
}

function pctEncode(bytes: Uint8Array, all = false): string {
  let out = '';
  for (const b of bytes) {
    const c = String.fromCharCode(b);
    out += !all && b < 0x80 && PCHAR_SAFE.test(c) ? c : `%${b.toString(16).padStart(2, '0').toUpperCase()}`;
  }
  return out;
}

/** Parses a pkcs11: URI; throws VALIDATION_FAILED naming the part at fault. */
export function parsePkcs11Uri(uri: string): Pkcs11Uri {
  if (!/^pkcs11:/i.test(uri)) throw new ValidationError('VALIDATION_FAILED', `not a pkcs11: URI: '${uri}'`);
  const rest = uri.slice('pkcs11:'.length);
  const q = rest.indexOf('?');
  const path = q < 0 ? rest : rest.slice(0, q);
  const query = q < 0 ? '' : rest.slice(q + 1);
  const out: Pkcs11Uri = { query: {}, other: [] };
  for (const part of path.split(';').filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ValidationError('VALIDATION_FAILED', `pkcs11 URI: attribute without '=': '${part}' in '${uri}'`);
    const name = part.slice(0, eq).toLowerCase();
    const raw = pctDecode(name, part.slice(eq + 1));
    const text = Buffer.from(raw).toString('utf8');
    switch (name) {
      case 'token': out.token = text; break;
      case 'object': out.object = text; break;
      case 'serial': out.serial = text; break;
      case 'id': out.id = raw; break;
      case 'type':
        if (!TYPES.has(text)) throw new ValidationError('VALIDATION_FAILED', `pkcs11 URI: unknown type '${text}' in '${uri}'`);
        out.type = text as Pkcs11Uri['type'];
        break;
      default: out.other.push([name, text]);
    }
  }
  for (const part of query.split('&').filter((p) => p !== '')) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ValidationError('VALIDATION_FAILED', `pkcs11 URI: query attribute without '=': '${part}'`);
    const name = part.slice(0, eq).toLowerCase();
    // RFC 7512 §2.4: pin-value in a URI puts the PIN in config and logs; refuse it outright.
    if (name === 'pin-value') throw new ValidationError('VALIDATION_FAILED', 'pkcs11 URI: pin-value is not accepted; give the PIN by file or environment');
    out.query[name] = Buffer.from(pctDecode(name, part.slice(eq + 1))).toString('utf8');
  }
  return out;
}

/** Formats a pkcs11: URI with token, object, id, type first (the order step-ca and p11tool print). */
export function formatPkcs11Uri(u: Omit<Pkcs11Uri, 'query' | 'other'> & Partial<Pick<Pkcs11Uri, 'query' | 'other'>>): string {
  const enc = (s: string) => pctEncode(Buffer.from(s, 'utf8'));
  const parts: string[] = [];
  if (u.token !== undefined) parts.push(`token=${enc(u.token)}`);
  if (u.serial !== undefined) parts.push(`serial=${enc(u.serial)}`);
  if (u.object !== undefined) parts.push(`object=${enc(u.object)}`);
  if (u.id !== undefined) parts.push(`id=${pctEncode(u.id, true)}`);
  if (u.type !== undefined) parts.push(`type=${u.type}`);
  for (const [k, v] of u.other ?? []) parts.push(`${k}=${enc(v)}`);
  const query = Object.entries(u.query ?? {}).map(([k, v]) => `${k}=${enc(v)}`);
  return `pkcs11:${parts.join(';')}${query.length ? `?${query.join('&')}` : ''}`;
}
