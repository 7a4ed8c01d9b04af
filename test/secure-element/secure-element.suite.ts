/**
 * The shared SecureElement suite (secure-element/secure-element.ts): every chip behind the seam
 * must pass it unchanged, as the Transport suite does for links. A runner gives a fresh part and
 * a way to get certificates issued for it.
 */
import type { Test } from 'tap';
import { createHash, createPublicKey, verify } from 'node:crypto';
import type { ChipIdentity, DeviceCertificates, SecureElement } from '../../secure-element/secure-element.js';

/** A fresh part behind the seam, and the certificates the line would get issued for it. */
export interface SuiteSubject {
  se: SecureElement;
  issue(id: ChipIdentity, publicKey: Uint8Array): Promise<DeviceCertificates>;
  /** The same part through a new SecureElement (a restarted station or a rebooted device). */
  reopen(): Promise<SecureElement>;
}

const message = Buffer.from('enrollment challenge');
const digest = createHash('sha256').update(message).digest();

function jwkKey(xy: Uint8Array) {
  return createPublicKey({ key: { kty: 'EC', crv: 'P-256', x: Buffer.from(xy.subarray(0, 32)).toString('base64url'), y: Buffer.from(xy.subarray(32)).toString('base64url') }, format: 'jwk' });
}

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** Runs the suite against `make`. */
export function secureElementSuite(t: Test, make: () => Promise<SuiteSubject>): void {
  t.test('a new part: identity, nothing provisioned', async (t) => {
    const { se } = await make();
    t.teardown(() => se.close());
    const id = await se.identity();
    t.equal(id.chip, se.chip);
    t.ok(id.serial.length === 9 || id.serial.length === 18, `serial of ${id.serial.length} bytes`);
    t.equal(id.serialHex, hex(id.serial).toUpperCase());
    t.same(await se.state(), { prepared: false, keyPresent: false, certificatesWritten: false, finalised: false });
  });

  t.test('the provisioning order, each step repeatable, then the field operations', async (t) => {
    const subject = await make();
    const { se } = subject;
    t.teardown(() => se.close());
    await se.prepare();
    await se.prepare();
    t.match(await se.state(), { prepared: true, keyPresent: false });
    const pub = await se.generateKey();
    t.equal(pub.length, 64, 'X‖Y');
    t.equal(hex(await se.publicKey()), hex(pub), 'publicKey reads the same key');
    await t.rejects(se.generateKey(), { name: 'SecureElementError' }, 'a second key is refused');
    t.equal(hex(await se.publicKey()), hex(pub), 'and the key is unchanged');

    const certs = await subject.issue(await se.identity(), pub);
    await se.writeCertificates(certs);
    await se.writeCertificates(certs);
    const read = await se.readCertificates();
    t.equal(hex(read.device), hex(certs.device), 'device certificate reads back byte for byte');
    t.same(read.chain.map(hex), certs.chain.map(hex), 'chain reads back');
    await se.finalise();
    await se.finalise();
    t.same(await se.state(), { prepared: true, keyPresent: true, certificatesWritten: true, finalised: true });

    const sig = await se.signDigest(digest);
    t.equal(sig.length, 64, 'raw r‖s');
    t.ok(verify('sha256', message, { key: jwkKey(pub), dsaEncoding: 'ieee-p1363' }, sig), 'signature of SHA-256(message) verifies with node:crypto');

    const c0 = await se.counterRead();
    t.equal(await se.counterIncrement(), c0 + 1);
    t.equal(await se.counterIncrement(), c0 + 2);
    t.equal(await se.counterRead(), c0 + 2, 'monotonic');

    const evidence = await se.attest(new Uint8Array(16).fill(7));
    t.equal(evidence.chip, se.chip, 'evidence names its chip');

    const again = await subject.reopen();
    t.teardown(() => again.close());
    t.equal(hex(await again.publicKey()), hex(pub), 'the key survives a reopen');
    t.equal(await again.counterRead(), c0 + 2, 'the counter survives a reopen');
    t.same(await again.state(), { prepared: true, keyPresent: true, certificatesWritten: true, finalised: true });
    t.equal(hex((await again.readCertificates()).device), hex(certs.device));
  });

  t.test('a signature needs a 32-byte digest', async (t) => {
    const { se } = await make();
    t.teardown(() => se.close());
    await se.prepare();
    await se.generateKey();
    await t.rejects(se.signDigest(new Uint8Array(31)));
  });
}
