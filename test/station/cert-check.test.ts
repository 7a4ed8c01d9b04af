/**
 * The certificate checks on their own: an issued certificate must chain to the configured root
 * and name this chip and its key; what the chip gives back must rebuild to the issued bytes.
 */
import t from 'tap';
import { toPem } from '../../common/pem.js';
import { CertChecker } from '../../station/cert-check.js';
import { makeBackend } from './harness.js';
import { issueReq } from '../helpers/requests.js';
import { ecKeyPair } from '../helpers/device-keys.js';

const SERIAL = '0123A1B2C3D4E5F6EE';
const serialBytes = Buffer.from(SERIAL, 'hex');

function chipKey(): Uint8Array {
  const jwk = ecKeyPair('P-256').publicKey.export({ format: 'jwk' });
  return new Uint8Array(Buffer.concat([Buffer.from(jwk.x!, 'base64url'), Buffer.from(jwk.y!, 'base64url')]));
}

t.test('prepare, read back, and every way it must fail', async (t) => {
  const b = await makeBackend(t);
  const key = chipKey();
  const r = await b.prov.issueUnit(issueReq({ serial: SERIAL, publicKey: Buffer.from(key).toString('hex'), workOrder: 'WO-1' }), 'station-01');
  const issued = { certificatePem: toPem(r.certificateDer), chainPem: b.chainPem };
  const checker = new CertChecker(b.rootPem);
  const prepared = checker.prepare(issued, SERIAL, key);
  t.equal(prepared.chip.deviceCompressed.length, 72);
  t.equal(prepared.chip.signerCompressed.length, 72);
  t.equal(prepared.chip.signerPublicKey.length, 64);
  t.doesNotThrow(() => checker.checkReadBack(prepared.chip, prepared, serialBytes, key), 'the untouched bytes rebuild the issued certificates');

  const flip = (b: Uint8Array, i: number) => { const c = Uint8Array.from(b); c[i]! ^= 0x01; return c; };
  t.throws(() => checker.checkReadBack({ ...prepared.chip, deviceCompressed: flip(prepared.chip.deviceCompressed, 10) }, prepared, serialBytes, key), { code: 'ATCACERT_TEMPLATE_MISMATCH' }, 'one signature bit');
  t.throws(() => checker.checkReadBack({ ...prepared.chip, signerPublicKey: flip(prepared.chip.signerPublicKey, 5) }, prepared, serialBytes, key), { code: 'ATCACERT_TEMPLATE_MISMATCH' }, 'a wrong signer key in slot 11');
  t.throws(() => checker.checkReadBack(prepared.chip, prepared, Buffer.from('0123A1B2C3D4E5F7EE', 'hex'), key), { code: /ATCACERT_/ }, 'another chip serial');
  t.throws(() => checker.checkReadBack(prepared.chip, prepared, serialBytes, chipKey()), { code: /ATCACERT_/ }, 'another chip key');

  t.throws(() => checker.prepare(issued, '0123000000000000EE', key), { code: 'CHAIN_INVALID', message: /does not name chip/ });
  t.throws(() => checker.prepare(issued, SERIAL, chipKey()), { code: 'CHAIN_INVALID', message: /not chip .*'s key/ });
  const other = await makeBackend(t);
  t.throws(() => new CertChecker(other.rootPem).prepare(issued, SERIAL, key), { code: 'CHAIN_INVALID', message: /configured root/ }, 'a chain to another root');
  t.throws(() => checker.prepare({ ...issued, chainPem: other.chainPem }, SERIAL, key), { code: 'CHAIN_INVALID', message: /no CA certificate/ });
});
