/**
 * The device's PKCS#10 request for a key it cannot export (firmware-sim/cloud/csr.ts): signed by
 * the emulated chip's ECDSA (a digest in, raw r‖s out), checked by OpenSSL and by the parser the
 * server uses.
 */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { keyFromScalar, randomScalar, signDigest } from '../../emulator/atecc608/ecc.js';
import { chipCsr } from '../../firmware-sim/cloud/csr.js';
import { parseCsr } from '../../server/services/public-key.js';

t.test('a chip-signed CSR verifies with OpenSSL and carries the chip key and the serial as CN', async (t) => {
  const key = keyFromScalar(randomScalar());
  const digests: Uint8Array[] = [];
  const chip = { publicKey: key.publicKey, signDigest: async (d: Uint8Array) => (digests.push(d), signDigest(key, d)) };
  const pem = await chipCsr(chip, '0123A1B2C3D4E5F6EE');
  t.equal(digests.length, 1, 'one signature, made by the chip over a 32-byte digest');
  t.equal(digests[0]!.length, 32);
  const file = join(t.testdir(), 'req.pem');
  writeFileSync(file, pem);
  const out = execFileSync('openssl', ['req', '-in', file, '-noout', '-verify', '-subject'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  t.match(out, /subject=CN ?= ?0123A1B2C3D4E5F6EE/);
  const parsed = await parseCsr(pem);
  t.same(Buffer.from(parsed.publicKey).toString('hex'), Buffer.from(key.publicKey).toString('hex'), 'the server reads the chip key from it');

  // A signature by any other key does not verify.
  const other = keyFromScalar(randomScalar());
  const forged = await chipCsr({ publicKey: key.publicKey, signDigest: async (d) => signDigest(other, d) }, '0123A1B2C3D4E5F6EE');
  await t.rejects(parseCsr(forged), { code: 'CSR_SIGNATURE_INVALID' });
});
