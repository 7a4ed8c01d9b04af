/**
 * What EST reads from a PKCS#10 request beyond its key (which the provisioning service checks,
 * with the signature that proves possession): the subject, the chip serial it names, and the
 * challengePassword carrying the tls-unique value (RFC 7030 §3.5). Read with the strict DER
 * reader: a request has one accepted encoding.
 */
import { ValidationError } from '../../common/errors.js';
import { childrenOf, expectTlv, oidText, readTlv, type Tlv } from '../../common/der/reader.js';
import { toPem } from '../../common/pem.js';
import { chipSerial, type ChipSerial } from '../../common/protocol/station-api.js';
import { OID } from './csr-attrs.js';

/** One attribute of a distinguished name: its type and its value as text. */
export interface NameAttribute {
  type: string;
  value: string;
}

/** The parts of a CSR that EST decides on. */
export interface EstCsr {
  der: Uint8Array;
  /** The request as PEM, as the provisioning service takes it. */
  pem: string;
  /** The subject, RDN by RDN (multi-valued RDNs flattened in order). */
  subject: NameAttribute[];
  /** The SubjectPublicKeyInfo, DER, as received. */
  spki: Uint8Array;
  /** The challengePassword attribute's value, when present. */
  challengePassword: string | null;
}

const STRING_TAGS = new Set([0x0c, 0x13, 0x16, 0x14, 0x1c, 0x1e]);

function text(der: Uint8Array, t: Tlv): string {
  if (!STRING_TAGS.has(t.tag)) throw new ValidationError('INVALID_CSR', `csr: a name or attribute value of tag 0x${t.tag.toString(16)} is not a string`);
  const b = Buffer.from(der.subarray(t.value, t.end));
  if (t.tag === 0x1e) return b.swap16().toString('utf16le'); // BMPString: big-endian UCS-2
  return b.toString(t.tag === 0x0c ? 'utf8' : 'latin1');
}

/** Reads a Name (RFC 5280 §4.1.2.4) into attributes. */
export function readName(der: Uint8Array, name: Tlv): NameAttribute[] {
  const out: NameAttribute[] = [];
  for (const rdn of childrenOf(der, name)) {
    if (rdn.tag !== 0x31) throw new ValidationError('INVALID_CSR', 'csr: a subject RDN is not a SET');
    for (const atv of childrenOf(der, rdn)) {
      const [type, value, extra] = atv.tag === 0x30 ? childrenOf(der, atv) : [];
      if (!type || !value || extra) throw new ValidationError('INVALID_CSR', 'csr: a subject attribute is not { type, value }');
      out.push({ type: oidText(der, type), value: text(der, value) });
    }
  }
  return out;
}

/** Parses the request's structure (not its signature: the service verifies that). */
export function readEstCsr(der: Uint8Array): EstCsr {
  try {
    const top = expectTlv(der, 0, der.length, 0x30, 'CertificationRequest');
    if (top.end !== der.length) throw new ValidationError('INVALID_CSR', `csr: ${der.length - top.end} bytes after the request`);
    const info = expectTlv(der, top.value, top.end, 0x30, 'CertificationRequestInfo');
    const [version, subject, spki, attrs, extra] = childrenOf(der, info);
    if (!version || version.tag !== 0x02 || !subject || subject.tag !== 0x30 || !spki || spki.tag !== 0x30 || (attrs && attrs.tag !== 0xa0) || extra) {
      throw new ValidationError('INVALID_CSR', 'csr: expected version, subject, subjectPKInfo and [0] attributes');
    }
    let challengePassword: string | null = null;
    for (const attr of attrs ? childrenOf(der, attrs) : []) {
      const [type, values] = attr.tag === 0x30 ? childrenOf(der, attr) : [];
      if (!type || !values || values.tag !== 0x31) throw new ValidationError('INVALID_CSR', 'csr: an attribute is not { type, SET OF value }');
      if (oidText(der, type) !== OID.challengePassword) continue;
      const vals = childrenOf(der, values);
      if (vals.length !== 1 || challengePassword !== null) throw new ValidationError('INVALID_CSR', 'csr: challengePassword must have exactly one value');
      challengePassword = text(der, vals[0]!);
    }
    // Touch the signature fields so a truncated request is refused here, with the same code.
    readTlv(der, info.end, top.end);
    return { der, pem: toPem(der, 'CERTIFICATE REQUEST'), subject: readName(der, subject), spki: der.subarray(spki.start, spki.end), challengePassword };
  } catch (err) {
    if (err instanceof ValidationError) throw err;
    throw new ValidationError('INVALID_CSR', 'csr: not a DER CertificationRequest', { cause: err });
  }
}

/**
 * The chip serial a request names: the subject's serialNumber (X.520) or, failing that, its CN,
 * as 18 hex digits. Both present and different, none, several of one kind, or not 18 hex digits:
 * INVALID_SERIAL.
 */
export function serialOfSubject(subject: readonly NameAttribute[]): ChipSerial {
  const of = (type: string) => subject.filter((a) => a.type === type).map((a) => a.value);
  const sns = of(OID.serialNumber);
  const cns = of(OID.commonName);
  if (sns.length > 1 || cns.length > 1) throw new ValidationError('INVALID_SERIAL', 'csr subject: more than one serialNumber or CN');
  const chosen = sns[0] ?? cns[0];
  if (chosen === undefined) throw new ValidationError('INVALID_SERIAL', 'csr subject: no serialNumber or CN naming the chip serial (18 hex digits)');
  const parsed = chipSerial.safeParse(chosen);
  if (!parsed.success) throw new ValidationError('INVALID_SERIAL', `csr subject: '${chosen.slice(0, 40)}' is not a chip serial (18 hex digits)`, { detail: { field: sns[0] !== undefined ? 'serialNumber' : 'CN' } });
  const cn = cns[0] !== undefined ? chipSerial.safeParse(cns[0]) : undefined;
  if (sns[0] !== undefined && cn?.success && cn.data !== parsed.data) {
    throw new ValidationError('INVALID_SERIAL', `csr subject: serialNumber ${parsed.data} and CN ${cn.data} name two chips`);
  }
  return parsed.data;
}

/** True when two names list the same attributes with the same values, in order (string types aside). */
export function sameName(a: readonly NameAttribute[], b: readonly NameAttribute[]): boolean {
  return a.length === b.length && a.every((x, i) => x.type === b[i]!.type && x.value === b[i]!.value);
}

/** The subject of a DER certificate (RFC 5280 §4.1: the sixth field of the TBSCertificate, after an optional version). */
export function certificateSubject(der: Uint8Array): NameAttribute[] {
  const top = expectTlv(der, 0, der.length, 0x30, 'Certificate');
  const tbs = expectTlv(der, top.value, top.end, 0x30, 'TBSCertificate');
  const fields = childrenOf(der, tbs);
  const subject = fields[(fields[0]?.tag === 0xa0 ? 1 : 0) + 4];
  if (!subject || subject.tag !== 0x30) throw new ValidationError('MALFORMED_DER', 'certificate: no subject Name');
  return readName(der, subject);
}
