/**
 * Attested reads in both applet layouts, verified independently of Keyline's code with
 * node:crypto alone (the signed data rebuilt by hand from reference/se050.md §6), then through
 * verifySe05xAttestation: valid, tampered (data, attributes, signature, freshness), wrong root.
 */
import t from 'tap';
import { createHash, verify, X509Certificate } from 'node:crypto';
import { createManufacturerRoot } from '../../../common/se05x/manufacturer-root.js';
import { ObjectId } from '../../../common/se05x/applet-constants.js';
import { parseTlvs } from '../../../common/se05x/tlv.js';
import { Se05xSecureElement } from '../../../secure-element/se05x/se05x-secure-element.js';
import { verifySe05xAttestation } from '../../../secure-element/se05x/attestation-verify.js';
import { InProcessApduTransport } from '../../../emulator/se050/in-process-apdu-transport.js';
import { Se05xDevice } from '../../../secure-element/se05x/se05x-device.js';
import { newChip, testRoot } from './helpers.js';
import { ecKeyPair } from '../../helpers/device-keys.js';

const ext = (tag: number, v: Uint8Array) => Buffer.concat([Buffer.of(tag, 0x82, v.length >> 8, v.length & 0xff), v]);

for (const applet of ['3.1', '7.2'] as const) {
  t.test(`applet ${applet}: the device key's attested read`, async (t) => {
    const chip = await newChip(applet);
    const se = new Se05xSecureElement(new Se05xDevice(new InProcessApduTransport(chip)));
    await se.prepare();
    const pub = await se.generateKey();
    const freshness = Uint8Array.from({ length: 16 }, (_, i) => i);
    const e = await se.attest(freshness);
    const root = await testRoot();

    // Independently: certificate chain and signature with node:crypto only.
    const cert = new X509Certificate(Buffer.from(e.attestationCertificate));
    const rootCert = new X509Certificate(Buffer.from(root.certDer));
    t.ok(cert.verify(rootCert.publicKey), 'attestation certificate signed by the manufacturer root');
    const f = new Map(parseTlvs(e.response)!.map((x) => [x.tag, Buffer.from(x.value)]));
    let signed: Buffer;
    let sig: Buffer;
    if (applet === '3.1') {
      signed = Buffer.concat([f.get(0x41)!, f.get(0x42)!, f.get(0x43)!, f.get(0x44)!, f.get(0x45)!]);
      sig = f.get(0x46)!;
      t.equal(f.get(0x44)!.toString('hex'), Buffer.from(freshness).toString('hex'), 'freshness echoed');
      t.equal(f.get(0x45)!.toString('hex'), Buffer.from(chip.uid).toString('hex'), 'chip id = UID');
    } else {
      signed = Buffer.concat([createHash('sha256').update(e.command).digest(), ext(0x41, f.get(0x41)!), ext(0x42, f.get(0x42)!), ext(0x43, f.get(0x43)!), ext(0x44, f.get(0x44)!), ext(0x4f, f.get(0x4f)!)]);
      sig = f.get(0x52)!;
      t.equal(f.get(0x44)!.toString('hex'), '0041', 'size = 65 bytes of public key');
      t.equal(f.get(0x42)!.toString('hex'), Buffer.from(chip.uid).toString('hex'), 'chip id = UID');
    }
    t.ok(verify('sha256', signed, cert.publicKey, sig), 'signature verifies with node:crypto over the documented signed data');
    t.equal(f.get(0x41)!.subarray(1).toString('hex'), Buffer.from(pub).toString('hex'), 'the attested data is the device public key');

    // Through the verifier.
    const ok = verifySe05xAttestation(e, { roots: [root.certDer], expectFreshness: freshness });
    t.equal(Buffer.from(ok.publicKey).toString('hex'), Buffer.from(pub).toString('hex'));
    t.equal(Buffer.from(ok.uid).toString('hex'), Buffer.from(chip.uid).toString('hex'));
    t.equal(ok.attributes.origin, 0x02, 'generated inside');
    t.same(ok.attributes.policy, [{ authId: 0, ar: 0x10200000 }], 'sign-only, read public');

    const other = await createManufacturerRoot({ org: 'Someone Else' });
    t.throws(() => verifySe05xAttestation(e, { roots: [other.certDer] }), { code: 'ATTESTATION_INVALID' }, 'wrong root');
    const flip = (b: Uint8Array, at: number) => {
      const c = b.slice();
      c[at]! ^= 1;
      return c;
    };
    const dataAt = e.response.indexOf(0x04, 2);
    t.throws(() => verifySe05xAttestation({ ...e, response: flip(e.response, dataAt + 5) }, { roots: [root.certDer] }), { code: 'ATTESTATION_INVALID' }, 'tampered key bytes');
    t.throws(() => verifySe05xAttestation({ ...e, response: flip(e.response, e.response.length - 3) }, { roots: [root.certDer] }), { code: 'ATTESTATION_INVALID' }, 'tampered signature');
    t.throws(() => verifySe05xAttestation({ ...e, freshness: new Uint8Array(16) }, { roots: [root.certDer] }), { code: 'ATTESTATION_INVALID' }, 'other freshness');
    t.throws(() => verifySe05xAttestation(e, { roots: [root.certDer], expectFreshness: new Uint8Array(16).fill(9) }), { code: 'ATTESTATION_INVALID' }, 'not the verifier\'s freshness');
    t.throws(() => verifySe05xAttestation({ ...e, attestationCertificate: flip(e.attestationCertificate, 40) }, { roots: [root.certDer] }), { code: 'ATTESTATION_INVALID' }, 'tampered certificate');
    t.throws(() => verifySe05xAttestation({ ...e, command: flip(e.command, e.command.length - 1) }, { roots: [root.certDer] }), { code: 'ATTESTATION_INVALID' }, 'tampered command');
    t.equal(chip.internalErrors, 0);
  });
}

t.test('an imported key attests with origin external and fails the key-origin check', async (t) => {
  const chip = await newChip('3.1');
  const dev = new Se05xDevice(new InProcessApduTransport(chip));
  await dev.select();
  await dev.ensureP256();
  const jwk = ecKeyPair('P-256').privateKey.export({ format: 'jwk' });
  const point = Uint8Array.from(Buffer.concat([Buffer.of(4), Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]));
  await dev.importEcKey(0x20000001, { d: Buffer.from(jwk.d!, 'base64url'), pub: point });
  const se = new Se05xSecureElement(dev);
  const e = await se.attest(new Uint8Array(16));
  const root = await testRoot();
  t.throws(() => verifySe05xAttestation(e, { roots: [root.certDer] }), { code: 'ATTESTATION_INVALID', detail: { reason: /origin 1/ } });
  t.equal((await dev.readObject(ObjectId.ATTESTATION_KEY)).length, 65);
});
