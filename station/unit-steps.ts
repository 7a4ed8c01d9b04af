/**
 * The six steps of one unit (issue 4), one function each, the same for every chip (issue 15: what
 * a step does on the part is the unit's UnitChip), in the order `runSteps` calls them.
 * Every step is skipped when the journal says it is done, so a unit resumed after a kill picks
 * up where it stopped; the key step is the one that must never repeat its effect.
 */
import { randomUUID } from 'node:crypto';
import { toPem } from '../common/pem.js';
import { attestationFreshness } from '../common/protocol/key-origin.js';
import { faultText, UnitFault } from './line-signals.js';
import type { CheckedCertificates } from './unit-chip.js';
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

/** Step 1: the part made ready for a key (608: config zone checked, written and locked, data zone locked). */
async function configure(u: UnitContext): Promise<void> {
  if (u.done('configured')) return;
  await u.chip(() => u.part.configure());
  u.advance('configured');
}

/**
 * Step 2: the key. Once the public key and idempotency key are journaled, the server may have
 * seen them: from then on the key is only ever re-read, never generated again.
 */
async function key(u: UnitContext): Promise<Uint8Array> {
  if (!u.done('keyed')) {
    const publicKey = await u.chip(() => u.part.generateKey());
    u.advance('keyed', { publicKey: hex(publicKey), idempotencyKey: randomUUID() });
    return publicKey;
  }
  const publicKey = await u.chip(() => u.part.readPublicKey());
  if (hex(publicKey) !== u.rec().publicKey) throw new UnitFault('the key in the chip is not the key the journal recorded');
  return publicKey;
}

/**
 * Step 3: the certificate, asked for with the journaled idempotency key, or rebuilt from the
 * journal. The part's key-origin evidence goes with the request, made fresh for exactly this
 * request (serial, work order, idempotency key: common/protocol/key-origin.ts), so a retry after
 * a crash sends evidence the server accepts for the same request.
 */
async function certificate(u: UnitContext, publicKey: Uint8Array): Promise<CheckedCertificates> {
  const { line, serial } = u;
  if (u.done('issued')) {
    const rec = u.rec();
    return prepare(u, { certificatePem: toPem(rec.certificateDer!), chainPem: rec.chainPem! }, publicKey);
  }
  const idempotencyKey = u.rec().idempotencyKey!;
  const attestation = await u.chip(() => u.part.evidence(attestationFreshness({ serial, workOrder: line.workOrder, idempotencyKey })));
  const issued = await line.client.issue({ serial, publicKeyHex: hex(publicKey), workOrder: line.workOrder, idempotencyKey, ...(attestation ? { attestation } : {}) });
  line.onStep?.('issued-unrecorded', serial);
  const prepared = prepare(u, issued, publicKey);
  u.advance('issued', {
    issued: { certificateDer: prepared.deviceDer, chainPem: issued.chainPem, fingerprintSha256: issued.fingerprintSha256, certificateSerial: issued.certificateSerial },
  });
  return prepared;
}

/** Step 4a: write the certificates (608: compressed, before anything is locked in; SE050: DER, read-only objects). */
async function write(u: UnitContext, prepared: CheckedCertificates): Promise<void> {
  if (u.done('written')) return;
  await u.chip(() => u.part.write(prepared));
  u.advance('written');
}

/** Step 4b: read back (608: and rebuild), compare byte for byte. */
async function verify(u: UnitContext, prepared: CheckedCertificates, publicKey: Uint8Array): Promise<void> {
  if (u.done('verified')) return;
  await u.chip(() => u.part.verify(prepared, publicKey));
  u.advance('verified');
}

/** Step 5: lock per the slot map (608), or check what the creation policies locked (SE050). */
async function lock(u: UnitContext): Promise<void> {
  if (u.done('locked')) return;
  await u.chip(() => u.part.lock());
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
function prepare(u: UnitContext, issued: { certificatePem: string; chainPem: string }, publicKey: Uint8Array): CheckedCertificates {
  try {
    return u.part.check(issued, u.serial, publicKey);
  } catch (err) {
    throw new UnitFault(`issued certificate rejected: ${faultText(err)}`);
  }
}
