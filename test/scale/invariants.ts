/**
 * The invariants of issue 7, checked after the load and the faults from the database (plain
 * SELECTs valid on SQLite and PostgreSQL), the stations' journals and the operator CLIs
 * (`keyline audit verify`, `keyline reconcile`), plus the CRL every replica serves (`openssl crl`).
 */
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ScaleEnv } from './env.js';
import { KeylineProc, until } from './proc.js';
import type { JournalRow } from './stations.js';

/** One checked invariant. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
}

const n = (x: unknown) => Number(x);
const norm = (hex: string) => hex.toLowerCase().replace(/^0+(?=.)/, '');

/** Runs every check; `journal` holds every station's rows, `devices` the serials booted in the field, `revoked` those revoked since. */
export async function checkInvariants(env: ScaleEnv, journal: JournalRow[], devices: string[], revoked: string[] = []): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (name: string, ok: boolean, detail: string) => checks.push({ name, ok, detail });
  const { sql } = env;

  // 1. Every unit a station saw confirmed: exactly one record, confirmed, with the certificate the station wrote.
  const good = journal.filter((r) => r.status === 'good');
  const units = new Map((await sql.all<{ serial: string; status: string; certificate_serial: string; fingerprint_sha256: string }>(
    'SELECT serial, status, certificate_serial, fingerprint_sha256 FROM units')).map((u) => [u.serial, u]));
  const bad = good.filter((r) => {
    const u = units.get(r.serial);
    const status = revoked.includes(r.serial) ? 'revoked' : 'confirmed';
    return !u || u.status !== status || norm(u.certificate_serial) !== norm(r.certificateSerial) || u.fingerprint_sha256 !== r.fingerprint;
  });
  add('confirmed units recorded once with their certificate', bad.length === 0 && good.length > 0,
    `${good.length} confirmed in the journals, ${units.size} unit records; mismatched: ${bad.slice(0, 3).map((r) => r.serial).join(' ') || 'none'}`);
  const issuedAudit = await sql.all<{ subject: string; c: unknown }>("SELECT subject, count(*) AS c FROM audit_log WHERE action = 'unit.issued' GROUP BY subject HAVING count(*) > 1");
  add('one issuance per unit in the audit log', issuedAudit.length === 0, `${issuedAudit.length} serials issued twice`);

  // 2. No serial, key, certificate serial or fingerprint twice (the unique indexes, checked anyway).
  for (const col of ['serial', 'public_key', 'certificate_serial', 'fingerprint_sha256']) {
    const dup = await sql.all(`SELECT ${col}, count(*) AS c FROM units GROUP BY ${col} HAVING count(*) > 1`);
    add(`no ${col} twice`, dup.length === 0, `${dup.length} duplicates`);
  }

  // 3. No work order over its quota.
  const wos = await sql.all<{ id: string; quota: unknown; issued: unknown; units: unknown }>(
    'SELECT w.id, w.quota, w.issued, (SELECT count(*) FROM units u WHERE u.work_order = w.id) AS units FROM work_orders w');
  const over = wos.filter((w) => n(w.units) > n(w.quota) || n(w.issued) > n(w.quota));
  add('no work order over quota', over.length === 0, wos.map((w) => `${w.id}: ${n(w.units)} units, issued ${n(w.issued)}/${n(w.quota)}`).join('; '));

  // 4. Every device enrolled exactly once despite retries and faults.
  const enrolled = new Set((await sql.all<{ serial: string }>('SELECT serial FROM enrollments')).map((r) => r.serial));
  const missing = devices.filter((s) => !enrolled.has(s));
  add('every device enrolled', missing.length === 0 && devices.length > 0, `${devices.length} devices, ${enrolled.size} enrollments; missing ${missing.length}`);
  const twice = await sql.all("SELECT subject, count(*) AS c FROM audit_log WHERE action = 'device.enrolled' GROUP BY subject HAVING count(*) > 1");
  const firstEnrollments = n((await sql.all<{ c: unknown }>("SELECT count(*) AS c FROM audit_log WHERE action = 'device.enrolled'"))[0]?.c);
  add('each device enrolled once (audit: device.enrolled)', twice.length === 0 && firstEnrollments === enrolled.size, `${firstEnrollments} first enrollments, ${twice.length} devices enrolled twice`);

  // 5. The audit chain verifies.
  const audit = await KeylineProc.run('audit-verify', ['audit', 'verify', '--config', env.pki.configPath, '--json']);
  add('keyline audit verify', audit.code === 0, audit.stdout.trim().split('\n').pop() ?? audit.stderr.trim());

  // 6. The outbox delivered every job once: reconcile clean, no job left, one registration per unit and registry
  // (Keyline's own registrations are written with their units, without a job: issue 13).
  let rec = { code: 1, stdout: '', stderr: '' };
  await until('keyline reconcile to come back clean', async () => (rec = await KeylineProc.run('reconcile', ['reconcile', '--config', env.pki.configPath, '--json'])).code === 0, 30_000, 1000).catch(() => undefined);
  add('keyline reconcile clean', rec.code === 0, rec.code === 0 ? 'nothing unregistered, orphaned or parked' : (rec.stdout || rec.stderr).trim().slice(0, 300));
  const open = await sql.all<{ status: string; c: unknown }>("SELECT status, count(*) AS c FROM outbox_jobs WHERE status <> 'delivered' GROUP BY status");
  const jobs = n((await sql.all<{ c: unknown }>("SELECT count(*) AS c FROM outbox_jobs WHERE status = 'delivered'"))[0]?.c);
  const dupJobs = await sql.all("SELECT serial, registry, action, count(*) AS c FROM outbox_jobs GROUP BY serial, registry, action HAVING count(*) > 1");
  const regs = n((await sql.all<{ c: unknown }>('SELECT count(*) AS c FROM registrations'))[0]?.c);
  const dupRegs = await sql.all('SELECT serial, registry, count(*) AS c FROM registrations GROUP BY serial, registry HAVING count(*) > 1');
  add('outbox: every job delivered, once', open.length === 0 && dupJobs.length === 0 && dupRegs.length === 0 && regs >= units.size && units.size > 0,
    `${jobs} delivered, ${regs} registrations of ${units.size} units; open: ${open.map((o) => `${o.status} ${n(o.c)}`).join(', ') || 'none'}; duplicate jobs ${dupJobs.length}, registrations ${dupRegs.length}`);

  // 7. Every replica serves the same CRL, signed by the issuing CA; one lease holder.
  checks.push(await checkCrls(env));
  return checks;
}

async function checkCrls(env: ScaleEnv): Promise<Check> {
  const chain = join(env.pki.dir, 'crl-chain.pem');
  execFileSync('sh', ['-c', `cat '${env.pki.rootCertPath}' '${env.pki.issuingCertPath}' > '${chain}'`]);
  const seen: string[] = [];
  let ok = true;
  for (const r of env.replicas) {
    const der = Buffer.from(await (await fetch(`${r.publicUrl}/crl/issuing.crl`)).arrayBuffer());
    const f = join(env.pki.dir, `replica-${r.index}.crl`);
    writeFileSync(f, der);
    try {
      const text = execFileSync('openssl', ['crl', '-inform', 'DER', '-in', f, '-CAfile', chain, '-noout', '-crlnumber'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
      seen.push(/crlNumber=(\S+)/.exec(text)?.[1] ?? '?');
    } catch (err) {
      ok = false;
      seen.push(`unverifiable (${(err as Error).message.split('\n')[0]})`);
    }
  }
  const lease = await env.sql.all<{ holder: string; until: string }>("SELECT holder, until FROM leases WHERE name = 'crl-issuer'");
  ok &&= new Set(seen).size === 1 && lease.length === 1;
  return { name: 'every replica serves the one CRL (openssl verifies)', ok, detail: `CRL numbers ${seen.join(', ')}; signer ${lease[0]?.holder ?? 'none'}` };
}
