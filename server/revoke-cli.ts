/**
 * `keyline revoke`: revokes a unit, every unit of a work order, or one certificate, from the
 * shell, then re-issues the CRL with the HSM (the issuing CA key). A running server notices the
 * revocation within a second (it polls the revocation sequence) and drops its cached OCSP answers.
 */
import { hostname, userInfo } from 'node:os';
import { KeylineError } from '../common/errors.js';
import { parseCommand, runCli, UsageError } from '../common/cli.js';
import { loadConfig } from './config.js';
import { crlIssuerOf } from './ca/crl.js';
import { openCa, type OpenedCa } from './open-ca.js';
import { CRL_LEASE, CrlPublisher } from './services/crl-publisher.js';
import { createRevocation } from './services/revocation.js';
import { REVOCATION_REASONS, revocationRequest } from '../common/protocol/revocation.js';
import { openStore } from './store/open-store.js';

const USAGE = `Usage: keyline revoke (--serial S | --work-order ID | --certificate-serial X) --reason R [--config FILE] [--json]

Revokes certificates: the unit with chip serial S, every unit of work order ID, or the
certificate with serial X (hex; a station or other certificate when no unit holds it). Each
gets a revocation record, its unit the status 'revoked', and an audit record; the CRL is then
re-issued and signed in the HSM. Revoking twice keeps the first revocation.

Options:
  --reason R      one of ${REVOCATION_REASONS.join(', ')}
                  (cessationOfOperation for end of life)
  --config FILE   server config (default certs-dev/keyline.json)
  --json          machine-readable output
  -h, --help      this text`;

/** Entry point of `keyline revoke`. */
export async function main(argv: string[]): Promise<number> {
  return runCli(async () => {
    const args = parseCommand(argv, {
      usage: USAGE,
      options: {
        serial: { type: 'string' }, 'work-order': { type: 'string' }, 'certificate-serial': { type: 'string' },
        reason: { type: 'string' }, config: { type: 'string', default: 'certs-dev/keyline.json' }, json: { type: 'boolean', default: false },
      },
    });
    if (!args) return 0;
    const v = args.values;
    const targets = [v.serial, v['work-order'], v['certificate-serial']].filter((x) => x !== undefined);
    if (targets.length !== 1) throw new UsageError(`give exactly one of --serial, --work-order, --certificate-serial\n\n${USAGE}`);
    if (!v.reason) throw new UsageError(`--reason is required (one of ${REVOCATION_REASONS.join(', ')})`);
    // Parsed with the API's schema before anything is opened: the same rules for both ways in.
    const parsed = revocationRequest.safeParse({
      ...(v.serial ? { serial: v.serial } : {}), ...(v['work-order'] ? { workOrder: v['work-order'] } : {}),
      ...(v['certificate-serial'] ? { certificateSerial: v['certificate-serial'] } : {}), reason: v.reason,
    });
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new UsageError(`--${issue.path.join('.').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`) || 'reason'}: ${issue.message}`);
    }
    const { config, secrets } = loadConfig(v.config);
    const store = await openStore(config.store.url, { mustExist: true });
    let ca: OpenedCa | undefined;
    try {
      ca = await openCa(config, secrets, { sessions: 1 });
      // The CLI signs the CRL only when no server holds the 'crl-issuer' lease; otherwise that
      // server notices the new revocations (revocation watcher) and re-issues within a second.
      // Every issuing CA's CRL lists every revocation (issue 19: CAs side by side); the first listed one's number is printed.
      const holder = `cli:${hostname()}:${process.pid}`;
      const [crl, ...others] = ca.cas.map((c) => new CrlPublisher({
        store, issuer: crlIssuerOf(c.der, c.signer), validityMs: config.ca.crlValidityHours * 3_600_000, lease: { holder, ttlMs: 30_000 },
      }));
      if (!crl) throw new KeylineError('CONFIG_INVALID', 'no issuing CA configured');
      const revocation = createRevocation({ store });
      const revoked = await revocation.revoke(parsed.data, `cli:${userInfo().username}`);
      // Re-issued when something was revoked or the CRL is due, unless a server holds the lease.
      const published = await crl.sync();
      for (const other of others) await other.sync();
      const signedHere = crl.isIssuer();
      for (const p of [crl, ...others]) await p.close();
      const crlLine = signedHere && published
        ? `crl number ${published.number} (${published.der.length} bytes, next update ${published.nextUpdate.toISOString()})`
        : `crl re-issued by the server holding the '${CRL_LEASE}' lease${published ? ` (current number ${published.number})` : ''}`;
      if (v.json) {
        process.stdout.write(JSON.stringify({ revoked, crlNumber: published?.number ?? null, crlSignedBy: signedHere ? 'cli' : 'server' }, null, 2) + '\n');
      } else {
        for (const r of revoked) {
          process.stdout.write(`${r.alreadyRevoked ? 'already revoked' : 'revoked'} ${r.certificateSerial}${r.serial ? ` (unit ${r.serial})` : ''} ${r.reason} ${r.revokedAt}\n`);
        }
        if (revoked.length === 0) process.stdout.write('no units in that work order\n');
        process.stdout.write(`${crlLine}\n`);
      }
      return 0;
    } finally {
      await ca?.close();
      await store.close();
    }
  });
}
