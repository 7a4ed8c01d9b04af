/**
 * The identities the issuing CA certifies in the dev ceremony. TLS identities (station, server,
 * people) get software keys in PEM files, as mTLS needs; the delegated OCSP responder's key is
 * made in the line token (RFC 6960 §4.2.2.2), so the issuing CA key signs only certificates and
 * CRLs while the responder signs at request rates.
 */
import { writeFileSync } from 'node:fs';
import type * as x509 from '../../common/x509.js';
import type { Role } from '../../common/roles.js';
import type { KeyStore } from '../hsm/key-store.js';
import { createClientCert, createOcspResponderCert, createServerTlsCert } from '../ca/profiles.js';
import { certFacts, sha256Hex } from './ceremony-event.js';
import type { DevCa } from './dev-cas.js';
import { pemOf, writeSecret, type DevCeremony } from './dev-ceremony.js';
import { generateSoftwareKey } from '../ca/software-key.js';

/** The people's identities the dev ceremony issues beside the station's: file stem and role. */
export const PEOPLE = [
  { id: 'officer-01', role: 'security-officer', event: 'officer' },
  { id: 'operator-01', role: 'operator', event: 'operator' },
  { id: 'auditor-01', role: 'auditor', event: 'auditor' },
] as const satisfies ReadonlyArray<{ id: string; role: Role; event: string }>;

/**
 * Issues one TLS identity: `<stem>.pem` holds the certificate and the issuing CA (the chain a
 * TLS peer sends), `<stem>.key.pem` the private key.
 */
async function issueTlsIdentity(c: DevCeremony, issuing: DevCa, stem: string, make: (spki: Uint8Array) => Promise<x509.X509Certificate>): Promise<x509.X509Certificate> {
  const key = generateSoftwareKey();
  const cert = await make(key.spki);
  writeFileSync(c.path(`${stem}.pem`), pemOf(cert) + pemOf(issuing.cert));
  writeSecret(c.path(`${stem}.key.pem`), key.privateKeyPem);
  return cert;
}

/** The station's client identity (OU=station). */
export async function issueStationIdentity(c: DevCeremony, issuing: DevCa, stationId: string): Promise<void> {
  const cert = await issueTlsIdentity(c, issuing, stationId, (spki) => createClientCert({ issuer: issuing, stationId, org: c.org, spki, now: c.now }));
  c.say(`station identity ${stationId}.pem (CN=${stationId})`);
  await c.record('ceremony.station.issue', stationId, certFacts(cert));
}

/** The server's TLS identity (localhost, 127.0.0.1 and `dnsNames`). */
export async function issueServerIdentity(c: DevCeremony, issuing: DevCa, dnsNames: string[] | undefined): Promise<void> {
  const cert = await issueTlsIdentity(c, issuing, 'server', (spki) => createServerTlsCert({ issuer: issuing, org: c.org, spki, dnsNames, now: c.now }));
  c.say('server TLS identity server.pem (localhost, 127.0.0.1)');
  await c.record('ceremony.server.issue', cert.subject, certFacts(cert));
}

/** The people's identities: a security officer, an operator and an auditor (OU = role). */
export async function issuePeopleIdentities(c: DevCeremony, issuing: DevCa): Promise<void> {
  for (const person of PEOPLE) {
    const cert = await issueTlsIdentity(c, issuing, person.id, (spki) => createClientCert({ issuer: issuing, stationId: person.id, org: c.org, spki, role: person.role, now: c.now }));
    c.say(`${person.role} identity ${person.id}.pem (CN=${person.id}, OU=${person.role})`);
    await c.record(`ceremony.${person.event}.issue`, person.id, certFacts(cert));
  }
}

/** The delegated OCSP responder: key in the line token, certificate in ocsp-responder.pem; returns the key's URI. */
export async function issueOcspResponder(c: DevCeremony, lineStore: KeyStore, issuing: DevCa): Promise<string> {
  const keyRef = await lineStore.generateKeyPair({ label: 'ocsp-responder', curve: 'P-256' });
  const spki = await (await lineStore.getSigner(keyRef)).publicKeySpki();
  await c.record('ceremony.ocsp.keygen', keyRef, { curve: 'P-256', spkiSha256: sha256Hex(spki) });
  const cert = await createOcspResponderCert({ issuer: issuing, org: c.org, spki, now: c.now });
  writeFileSync(c.path('ocsp-responder.pem'), pemOf(cert));
  c.say(`OCSP responder certificate ocsp-responder.pem (key '${keyRef}')`);
  await c.record('ceremony.ocsp.issue', cert.serialNumber, certFacts(cert));
  return keyRef;
}
