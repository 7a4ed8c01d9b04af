import t from 'tap';
import { unitIssueRequest } from '../../common/protocol/station-api.js';
import { validate } from '../../server/api/middleware/body.js';
import { DeviceTrust } from '../../server/enroll/device-trust.js';
import { p256FromSeed, provisioningBed, serialOf } from '../../fuzz/bed.js';
import { encodeDerTree, parseDerTree } from '../../fuzz/mutate-bytes.js';
import { enrollTarget } from '../../fuzz/targets/enroll.js';
import { seededPass } from './seeded-pass.js';

t.test('enroll: seeded fuzz pass (device sessions into the MQTT handler and the enrollment service over SQLite)', (t) => seededPass(t, enrollTarget, 400, 0x11c7));

// node:crypto's X509Certificate leaves `issuer` undefined for a Name it cannot print; device-trust.ts
// read it unguarded and the TypeError became an INTERNAL answer to an anonymous hello.
t.test('issue 11 (fuzz finding, owner server/enroll): a certificate whose issuer Name is unprintable is CERTIFICATE_UNTRUSTED', async (t) => {
  const bed = await provisioningBed('enroll-regression');
  t.teardown(() => bed.close());
  await bed.prov.createWorkOrder({ id: 'WO-R', product: 'Sensor', quota: 1 }, 'operator-01');
  const issued = await bed.prov.issueUnit(validate(unitIssueRequest, { serial: serialOf(1), publicKey: Buffer.from(p256FromSeed(1)).toString('hex'), workOrder: 'WO-R' }), 'station-01');
  // The fuzzer's mutation: the TBSCertificate's issuer Name replaced by `10 00`.
  const tree = parseDerTree(issued.certificateDer);
  tree.children![0]!.children![3] = { tag: 0x10, value: new Uint8Array() };
  t.throws(() => new DeviceTrust(bed.issuingDer).verify(encodeDerTree(tree)), { code: 'CERTIFICATE_UNTRUSTED' });
});
