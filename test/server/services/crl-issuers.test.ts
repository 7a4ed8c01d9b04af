/**
 * Several issuing CAs on one database (issue 19): each CA's CRL is numbered on its own, and the
 * issuer-less CRL row of a build before issue 19 is taken over by the CA whose key signed it
 * (its AKI), never served or continued by another CA.
 */
import t from 'tap';
import { join } from 'node:path';
import { issueCrl } from '../../../server/ca/crl.js';
import { parseCrl } from '../../../server/ca/crl-info.js';
import { CrlPublisher } from '../../../server/services/crl-publisher.js';
import { openStore } from '../../../server/store/open-store.js';
import { createSoftSigner } from '../../helpers/soft-signer.js';

const nameDer = Buffer.from('3012311030' + '0e06035504030c0754657374204341', 'hex');
const a = { signer: createSoftSigner(), nameDer, keyIdHex: 'aa01' };
const b = { signer: createSoftSigner(), nameDer, keyIdHex: 'bb02' };
const now = new Date('2026-11-25T10:00:00Z');
const clock = () => now;

t.test('the pre-019 row is continued by its own CA only; each CA numbers its CRLs apart', async (t) => {
  const store = await openStore(`sqlite:${join(t.testdir(), 'k.db')}`);
  t.teardown(() => store.close());
  const legacyDer = await issueCrl(a, { number: 41, thisUpdate: now, nextUpdate: new Date(now.getTime() + 86_400_000), entries: [] });
  // What migration 009 leaves of an older database: the one row, under issuer ''.
  await store.transaction((tx) => tx.crls.save({ number: 41, thisUpdate: now.toISOString(), nextUpdate: new Date(now.getTime() + 86_400_000).toISOString(), revocationSeq: 0, der: legacyDer }));

  const pa = new CrlPublisher({ store, issuer: a, clock });
  const pb = new CrlPublisher({ store, issuer: b, clock });
  t.equal((await pa.refresh()).number, 41, 'A serves its fresh pre-019 CRL as it is');
  const first = await pb.refresh();
  t.equal(first.number, 1, 'B starts its own numbering');
  t.equal(parseCrl(first.der).authorityKeyIdHex, 'bb02', 'B never serves A\'s CRL');

  await store.transaction((tx) => tx.revocations.add({ certificateSerial: 'abc', kind: 'other', subject: null, reason: 'keyCompromise', revokedAt: now.toISOString(), revokedBy: 't' }));
  t.equal((await pa.refresh()).number, 42, 'A continues from the pre-019 number (RFC 5280 §5.2.3)');
  t.equal((await pb.refresh()).number, 2);
  t.equal((await store.transaction((tx) => tx.crls.latest('aa01')))!.number, 42);
  t.equal((await store.transaction((tx) => tx.crls.latest('bb02')))!.number, 2);
  t.same(parseCrl((await pa.refresh()).der).entries().map((e) => e.serialHex), ['abc']);
});
