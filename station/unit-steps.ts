/**
 * The six steps of one unit (issue 4), one function each, in the order `runSteps` calls them.
 * Every step is skipped when the journal says it is done, so a unit resumed after a kill picks
 * up where it stopped; the key step is the one that must never repeat its effect.
 */
import { randomUUID } from 'node:crypto';
import { toPem } from '../common/pem.js';
import type { PreparedCertificates } from './cert-check.js';
import { configureChip, generateKey, lockSlots, readCertificates, readPublicKey, writeCertificates } from './chip-steps.js';
import { faultText, UnitFault } from './line-signals.js';
import type { ConfirmResult } from './unit-client.js';
import type { UnitContext } from './unit-context.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/**
 * Runs steps 1-6 on the unit: what the confirmation came to (incomplete registrations leave the
 * unit unconfirmed in the journal); throws what the first failing step throws.
 */
export async function runSteps(u: UnitContext): Promise<ConfirmResult> {
  await configure(u);
  const publicKey = await key(u);
  const prepared = await certificate(u, publicKey);
  await write(u, prepared);
  await verify(u, prepared, publicKey);
  await lock(u);
  return confirm(u);
}

/** Step 1: config zone checked, written and locked; data zone locked. */
async function configure(u: UnitContext): Promise<void> {
  if (u.done('configured')) return;
  await u.chip(() => configureChip(u.dev, u.line.profile, u.facts));
  u.advance('configured');
}

/**
 * Step 2: the key. Once the public key and idempotency key are journaled, the server may have
 * seen them: from then on the key is only ever re-read, never generated again.
 */
async function key(u: UnitContext): Promise<Uint8Array> {
  if (!u.done('keyed')) {
    const publicKey = await u.chip(() => generateKey(u.dev, u.line.profile));
    u.advance('keyed', { publicKey: hex(publicKey), idempotencyKey: randomUUID() });
    return publicKey;
  }
  const publicKey = await u.chip(() => readPublicKey(u.dev, u.line.profile));
  if (hex(publicKey) !== u.rec().publicKey) throw new UnitFault('the key in the chip is not the key the journal recorded');
  return publicKey;
}

/** Step 3: the certificate, asked for with the journaled idempotency key, or rebuilt from the journal. */
async function certificate(u: UnitContext, publicKey: Uint8Array): Promise<PreparedCertificates> {
  const { line, serial } = u;
  if (u.done('issued')) {
    const rec = u.rec();
    return prepare(u, { certificatePem: toPem(rec.certificateDer!), chainPem: rec.chainPem! }, publicKey);
  }
  const issued = await line.client.issue({ serial, publicKeyHex: hex(publicKey), workOrder: line.workOrder, idempotencyKey: u.rec().idempotencyKey! });
  line.onStep?.('issued-unrecorded', serial);
  const prepared = prepare(u, issued, publicKey);
  u.advance('issued', {
    issued: { certificateDer: prepared.deviceDer, chainPem: issued.chainPem, fingerprintSha256: issued.fingerprintSha256, certificateSerial: issued.certificateSerial },
  });
  return prepared;
}

/** Step 4a: write the compressed certificates (before anything is locked in). */
async function write(u: UnitContext, prepared: PreparedCertificates): Promise<void> {
  if (u.done('written')) return;
  await u.chip(() => writeCertificates(u.dev, u.line.profile, prepared.chip, u.facts));
  u.advance('written');
}

/** Step 4b: read back, rebuild, compare byte for byte. */
async function verify(u: UnitContext, prepared: PreparedCertificates, publicKey: Uint8Array): Promise<void> {
  if (u.done('verified')) return;
  const read = await u.chip(() => readCertificates(u.dev, u.line.profile));
  try {
    u.line.checker.checkReadBack(read, prepared, u.facts.serial, publicKey);
  } catch (err) {
    throw new UnitFault(`read-back check failed: ${faultText(err)}`);
  }
  u.advance('verified');
}

/** Step 5: lock per the slot map. */
async function lock(u: UnitContext): Promise<void> {
  if (u.done('locked')) return;
  await u.chip(() => lockSlots(u.dev, u.line.profile, u.facts));
  u.advance('locked');
}

/** Step 6: confirm; only a complete confirmation makes the unit good (the caller counts and labels it). */
async function confirm(u: UnitContext): Promise<ConfirmResult> {
  const result = await u.line.client.confirm(u.serial, u.rec().fingerprintSha256!);
  if (!result.complete) return result;
  u.line.onStep?.('confirmed-unrecorded', u.serial);
  u.advance('confirmed');
  return result;
}

/** Checks an issued certificate against the chip it is for; a refusal condemns the part. */
function prepare(u: UnitContext, issued: { certificatePem: string; chainPem: string }, publicKey: Uint8Array): PreparedCertificates {
  try {
    return u.line.checker.prepare(issued, u.serial, publicKey);
  } catch (err) {
    throw new UnitFault(`issued certificate rejected: ${faultText(err)}`);
  }
}
