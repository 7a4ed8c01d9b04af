// A proof's signature verified before its write transaction (proof-signature.ts `ahead`): the
// refusals and writes stay those of a verification inside it, and a verdict stands only for the
// exact key, signed bytes and signature it was made on.
import t from 'tap';
import { sign } from 'node:crypto';
import { certificateFingerprint, enrollmentSignedBytes } from '../../../common/protocol/enrollment.js';
import { BoundedCache } from '../../../server/enroll/bounded-cache.js';
import { proofStep, type StepDeps } from '../../../server/enroll/enrollment-steps.js';
import { createEnrollmentWrites } from '../../../server/enroll/enrollment-writes.js';
import { createProofVerifier } from '../../../server/enroll/proof-signature.js';
import { chipDevice } from './device-client.js';
import { makeEnrollBed } from './fixture.js';
import { ecKeyPair } from '../../helpers/device-keys.js';

const nonceOf = (b: number) => Buffer.alloc(32, b);
const SERIAL = Buffer.from('0123456789abcdef01', 'hex');

t.test('a verdict made ahead stands only for its own key, bytes and signature', async (t) => {
  const { privateKey, publicKey } = ecKeyPair('P-256');
  const jwk = publicKey.export({ format: 'jwk' });
  const raw = new Uint8Array(Buffer.concat([Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]));
  const other = ecKeyPair('P-256').publicKey.export({ format: 'jwk' });
  const otherRaw = new Uint8Array(Buffer.concat([Buffer.from(other.x!, 'base64url'), Buffer.from(other.y!, 'base64url')]));
  const bytes = (nonce: Buffer, counter = 7) => enrollmentSignedBytes({ nonce, counter, serial: SERIAL, certFingerprint: Buffer.alloc(32, 9) });
  const sigOver = (b: Uint8Array) => sign('sha256', b, { key: privateKey, dsaEncoding: 'ieee-p1363' }).toString('hex');
  const v = createProofVerifier();

  const a = bytes(nonceOf(1));
  const sigA = sigOver(a);
  const checked = await v.ahead(raw, a, sigA);
  t.match(checked, { ok: true }, 'verified on the thread pool');
  t.equal(v.verify(raw, a, sigA, checked), true);
  t.match(await v.ahead(raw, a, sigOver(bytes(nonceOf(1), 8))), { ok: false }, 'a signature over other bytes is false ahead too');

  // The same signature and verdict offered for another nonce, counter or key: verified again, refused.
  t.equal(v.verify(raw, bytes(nonceOf(2)), sigA, checked), false, 'another nonce');
  t.equal(v.verify(raw, bytes(nonceOf(1), 8), sigA, checked), false, 'another counter');
  t.equal(v.verify(otherRaw, a, sigA, checked), false, 'another key');
  // A verdict is never taken for other inputs, even one claiming ok.
  const forged = { publicKey: raw, signed: a, signatureHex: sigA, ok: true };
  const b = bytes(nonceOf(3));
  t.equal(v.verify(raw, b, sigOver(bytes(nonceOf(4))), forged), false);
  // The verdict keeps copies: the caller's buffer changing afterwards does not move it.
  const mine = new Uint8Array(a);
  const kept = (await v.ahead(raw, mine, sigA))!;
  mine.set(b);
  t.equal(v.verify(raw, mine, sigA, kept), false, 'verified again over the changed bytes');
  const junk = await v.ahead(raw, a, 'zz');
  t.equal(junk?.ok ?? v.verify(raw, a, 'zz'), v.verify(raw, a, 'zz'), 'a signature that is not hex: the same answer as in the loop');
});

t.test('through the service: a bad signature verified ahead is refused as before, and nothing but the refusal is written', async (t) => {
  const bed = await makeEnrollBed(t, 1);
  const [a] = await Promise.all(bed.chips.map((chip) => chipDevice(chip, bed.store)));
  const read = () => bed.store.transaction(async (tx) => ({ rec: await tx.enrollment.get(a!.serial), last: await tx.enrollment.lastCounter(a!.serial), audit: await tx.audit.list({ afterSeq: 0, limit: 10_000 }) }), { readOnly: true });
  const before = await read();

  const ch = await bed.service.hello(a!.serial, a!.certDer);
  const p = await a!.prove(ch.nonce);
  const bad = { ...p, signature: p.signature.slice(0, 64) + (p.signature[64] === '0' ? '1' : '0') + p.signature.slice(65) };
  await t.rejects(bed.service.proof(a!.serial, bad), { code: 'SIGNATURE_INVALID' });
  const after = await read();
  t.equal(after.rec, null, 'no enrollment record');
  t.equal(after.last, before.last, 'counter not moved');
  const added = after.audit.slice(before.audit.length);
  t.same(added.map((r) => [r.action, JSON.parse(r.detail!)]), [['device.enroll-refused', { code: 'SIGNATURE_INVALID', counter: p.counter }]], 'only the refusal audited');
  await t.rejects(bed.service.proof(a!.serial, p), { code: 'NONCE_INVALID' }, 'the nonce was spent by the refused attempt');

  // The good signature on a fresh nonce still enrolls (the ahead path's ordinary case).
  const ch2 = await bed.service.hello(a!.serial, a!.certDer);
  t.match(await bed.service.proof(a!.serial, await a!.prove(ch2.nonce)), { reenrolled: false });
});

t.test("a verdict made ahead for one nonce does not carry a proof naming another", async (t) => {
  const bed = await makeEnrollBed(t, 1);
  const [a] = await Promise.all(bed.chips.map((chip) => chipDevice(chip, bed.store)));
  const verifier = createProofVerifier();
  const steps: StepDeps = { groups: [], defaultGroup: { group: 'default', config: {} }, now: () => new Date(), verifyProof: verifier, products: new BoundedCache(10) };
  const write = createEnrollmentWrites({ store: bed.store });
  const unit = (await bed.store.transaction((tx) => tx.units.getBySerial(a!.serial), { readOnly: true }))!;
  const n1 = (await bed.service.hello(a!.serial, a!.certDer)).nonce;
  const n2 = (await bed.service.hello(a!.serial, a!.certDer)).nonce;
  const p1 = await a!.prove(n1);
  const signedFor = (nonce: string) => enrollmentSignedBytes({ nonce: Buffer.from(nonce, 'hex'), counter: p1.counter, serial: Buffer.from(a!.serial, 'hex'), certFingerprint: certificateFingerprint(a!.certDer) });
  const ahead = await verifier.ahead(unit.publicKey, signedFor(n1), p1.signature);
  t.match(ahead, { ok: true });

  // n1's signature and verdict presented with n2: the step builds n2's bytes and verifies them.
  const r = await write(proofStep(steps, a!.serial, { nonce: n2, counter: p1.counter, signature: p1.signature }, Promise.resolve(ahead)));
  t.match(r, { code: 'SIGNATURE_INVALID' });
  t.equal(await bed.store.transaction((tx) => tx.enrollment.get(a!.serial), { readOnly: true }), null, 'nothing enrolled');
  // n1 with its own verdict: the nonce is consumed once; a second use is NONCE_INVALID before any signature.
  t.match(await write(proofStep(steps, a!.serial, p1, Promise.resolve(ahead))), { reenrolled: false });
  t.match(await write(proofStep(steps, a!.serial, p1, Promise.resolve(ahead))), { code: 'NONCE_INVALID' });
});
