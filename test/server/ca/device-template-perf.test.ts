/**
 * Micro-measure of the template issuer (printed, not asserted): certificates per second with a
 * node:crypto signer and with a SoftHSM signer, one core, serial issue loop, and a few in flight.
 */
import { generateKeyPairSync } from 'node:crypto';
import t from 'tap';
import { Pkcs11KeyStore } from '../../../server/hsm/pkcs11-key-store.js';
import type { Signer } from '../../../server/hsm/key-store.js';
import { createTemplateDeviceIssuer } from '../../../server/ca/template-device-issuer.js';
import { makeTestPki } from '../../secure-element/atcacert/ca-fixture.js';
import { makeTokens } from '../hsm/token-fixture.js';

const KEYS = Array.from({ length: 64 }, () => {
  const spki = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' });
  return new Uint8Array(spki.subarray(spki.length - 64));
});
const chipSerial = Uint8Array.from([0x01, 0x23, 0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0xee]);

async function measure(signer: Signer, issuingCaDer: Uint8Array, ms: number): Promise<{ serial: number; inFlight: number }> {
  const issuer = createTemplateDeviceIssuer({ signer, issuingCaDer, crlUrl: 'http://pki.example.test/crl', ocspUrl: 'http://pki.example.test/ocsp', validityYears: 10 });
  const issuedAt = new Date();
  const one = (i: number) => issuer.issue({ chipSerial, publicKey: KEYS[i % KEYS.length]!, product: 'Widget', issuedAt });
  await one(0); // warm: template built, key checked
  let n = 0;
  let start = performance.now();
  while (performance.now() - start < ms) await one(n++);
  const serial = (n * 1000) / (performance.now() - start);
  n = 0;
  start = performance.now();
  while (performance.now() - start < ms) {
    await Promise.all(Array.from({ length: 16 }, (_, k) => one(n + k)));
    n += 16;
  }
  return { serial, inFlight: (n * 1000) / (performance.now() - start) };
}

t.test('template issuer throughput (printed, not asserted)', async (t) => {
  const pki = await makeTestPki();
  const soft = await measure(pki.signer, pki.issuingDer, 1000);
  t.comment(`node:crypto signer: ${soft.serial.toFixed(0)} certs/s one at a time, ${soft.inFlight.toFixed(0)} certs/s 16 in flight`);

  const tokens = makeTokens(t, ['perf-line']);
  const store = Pkcs11KeyStore.open({ softhsmConf: tokens.conf, tokenLabel: 'perf-line', pin: tokens.pin });
  t.teardown(() => store.close());
  const ref = await store.generateKeyPair({ label: 'issuing-perf', curve: 'P-256' });
  const hsmSigner = await store.getSigner(ref);
  const hsmPki = await makeTestPki({ issuingSpki: await hsmSigner.publicKeySpki() });
  const hsm = await measure(hsmSigner, hsmPki.issuingDer, 1000);
  t.comment(`SoftHSM signer: ${hsm.serial.toFixed(0)} certs/s one at a time, ${hsm.inFlight.toFixed(0)} certs/s 16 in flight`);
  t.ok(soft.serial > 0 && hsm.serial > 0, 'measured');
});
