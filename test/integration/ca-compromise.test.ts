/**
 * Compromise of the issuing CA (issue 19), on a running server: the root (its own token) puts
 * the issuing CA on its CRL (`keyline ceremony revoke-issuing`), the CRL is imported
 * (`keyline ca import-crl`) and the server publishes it at the CDP the issuing CA certificate
 * names within a second; `openssl verify -crl_check_all` then refuses a device certificate that
 * passed before; the server refuses to issue (CA_REVOKED), says so in /health and /metrics, and
 * still refuses after a restart. The root CRL nearing its next update is warned about.
 */
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { get } from 'node:https';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { toPem } from '../../common/pem.js';
import { parseCrl } from '../../server/ca/crl-info.js';
import { runKeyline, runTool } from '../helpers/keyline-cli.js';
import { makeDevPki } from '../helpers/pki.js';
import { clientFor, operatorFor, startTestServer } from '../helpers/server.js';
import { chipSerialHex, deviceKey } from '../helpers/device-keys.js';

const pki = await makeDevPki(t);
const dir = pki.outDir;

const run = runTool;
const keyline = runKeyline;

function httpsGet(url: string, id: { cert?: string; key?: string } = {}): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    get(url, { ca: readFileSync(pki.rootCertPath, 'utf8'), ...id }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    }).on('error', reject);
  });
}
const auditor = { cert: readFileSync(pki.auditorCertPath, 'utf8'), key: readFileSync(pki.auditorKeyPath, 'utf8') };

const server = await startTestServer(t, pki);
const station = clientFor(t, pki, server.apiUrl);
await operatorFor(t, pki, server.apiUrl).createWorkOrder({ id: 'WO-C', product: 'Sensor', quota: 10 });

/** openssl verify -crl_check_all with the root and issuing CRLs as the server publishes them. */
async function verifyAll(certFile: string): Promise<{ code: number; out: string; rootCrlNumber: number }> {
  const root = Buffer.from(await (await fetch(`${server.publicUrl}/crl/root.crl`)).arrayBuffer());
  const issuing = Buffer.from(await (await fetch(`${server.publicUrl}/crl/issuing.crl`)).arrayBuffer());
  writeFileSync(join(dir, 'root.crl.pem'), toPem(root, 'X509 CRL'));
  writeFileSync(join(dir, 'issuing.crl.pem'), toPem(issuing, 'X509 CRL'));
  const v = await run('openssl', ['verify', '-crl_check_all', '-CAfile', pki.rootCertPath, '-untrusted', pki.issuingCertPath, '-CRLfile', join(dir, 'root.crl.pem'), '-CRLfile', join(dir, 'issuing.crl.pem'), certFile]);
  return { ...v, rootCrlNumber: parseCrl(root).number ?? 0 };
}

t.test('revoked by the root: published, refused by OpenSSL and by the server', async (t) => {
  const unit = await station.issueUnit({ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-C' });
  const certFile = join(dir, 'device.pem');
  writeFileSync(certFile, unit.certificatePem);
  const x = await run('openssl', ['x509', '-in', pki.issuingCertPath, '-noout', '-text']);
  t.match(x.out, /CRL Distribution Points:[\s\S]*URI:http:\/\/127\.0\.0\.1:8080\/crl\/root\.crl/, 'the issuing CA names the root CRL');
  const before = await verifyAll(certFile);
  t.equal(before.code, 0, before.out);
  t.equal(before.rootCrlNumber, 1, 'root CRL 1 imported from ca.rootCrl at start-up');

  const revoke = await keyline(['ceremony', 'revoke-issuing', '--cert', pki.issuingCertPath, '--reason', 'keyCompromise', '--token', 'keyline-root', '--pin-file', pki.rootPinPath,
    '--softhsm-conf', pki.softhsmConf, '--out', dir, '--witness', 'Alice', '--witness', 'Bob', '--crl-days', '10']);
  t.equal(revoke.code, 0, revoke.out);
  t.match(revoke.out, /root CRL number 2/);
  const imported = await keyline(['ca', 'import-crl', '--crl', join(dir, 'root-ca.crl'), '--config', pki.configPath]);
  t.equal(imported.code, 0, imported.out);

  let after = await verifyAll(certFile);
  for (let i = 0; i < 30 && after.rootCrlNumber !== 2; i++) {
    await sleep(100);
    after = await verifyAll(certFile);
  }
  t.equal(after.rootCrlNumber, 2, 'the server publishes the new root CRL');
  t.not(after.code, 0);
  t.match(after.out, /certificate revoked/);

  await t.rejects(station.issueUnit({ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-C' }), { code: 'CA_REVOKED', status: 503 });
  const health = await httpsGet(`${server.apiUrl}/health`);
  t.equal(health.status, 503);
  const report = JSON.parse(health.body) as { checks: { ca: { ok: boolean; rootCrl: { number: number; warning: boolean }; warnings: Array<{ key: string }> } } };
  t.equal(report.checks.ca.ok, false);
  t.match(report.checks.ca.rootCrl, { number: 2, warning: true }, 'next update in 10 days: under ca.rootCrlWarningDays (30)');
  t.ok(report.checks.ca.warnings.some((w) => w.key.startsWith('revoked:')));
  const metrics = await httpsGet(`${server.apiUrl}/metrics`, auditor);
  t.match(metrics.body, /keyline_ca_revoked\{role="issuing",[^}]*\} 1/);
  t.match(metrics.body, /keyline_root_crl_warning 1/);
  t.match(metrics.body, /keyline_ca_issuance_ok 0/);
  // The device certificate's own OCSP status is unchanged: it is the chain that fails.
  const ocsp = await run('openssl', ['ocsp', '-issuer', pki.issuingCertPath, '-cert', certFile, '-url', `${server.publicUrl}/ocsp`, '-CAfile', pki.rootCertPath, '-verify_other', pki.issuingCertPath, '-no_nonce']);
  t.match(ocsp.out, /: good/);
});

t.test('after a restart the server still refuses: the root CRL is in the store', async (t) => {
  const again = await startTestServer(t, pki);
  const api = clientFor(t, pki, again.apiUrl);
  await t.rejects(api.issueUnit({ serial: chipSerialHex(), publicKey: deviceKey().rawHex, workOrder: 'WO-C' }), { code: 'CA_REVOKED' });
  await again.close();
});
