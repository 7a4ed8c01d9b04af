/**
 * DPS registrations decided from Keyline's records (server/cloud-enroll/dps/dps-registrations.ts),
 * over a real SQLite store and enrollment service: the connection's certificate is checked
 * against the unit inside the enrollment's own transaction, so a unit re-keyed (or a certificate
 * revoked) after any earlier read is refused and nothing is recorded.
 */
import t from 'tap';
import { createHash, randomBytes } from 'node:crypto';
import { dpsConfigSchema } from '../../../server/cloud-enroll/cloud-enroll-config.js';
import { createDpsRegistrations } from '../../../server/cloud-enroll/dps/dps-registrations.js';
import type { DevicePeer } from '../../../server/cloud-enroll/mqtt-endpoint/device-connect.js';
import type { Store } from '../../../server/store/store.js';
import { makeEnrollBed, type EnrollBed } from '../enroll/fixture.js';

const config = dpsConfigSchema.parse({ idScope: '0ne00000001', assignedHub: 'hub.local', pollAfterSeconds: 0 });

/** The connection of a provisioned chip, as the endpoint's CONNECT check would describe it. */
async function peerOf(bed: EnrollBed, chip: EnrollBed['chips'][number]): Promise<DevicePeer> {
  const serial = Buffer.from(chip.serialNumber).toString('hex').toUpperCase();
  const unit = (await bed.store.transaction((tx) => tx.units.getBySerial(serial), { readOnly: true }))!;
  return { serial, certificateDer: Buffer.from(unit.certificateDer), certificateSerial: unit.certificateSerial, publicKey: unit.publicKey };
}

/** The store as the registrations see it, with `between` run once right after their first read. */
function withGap(store: Store, between: () => Promise<void>): Store {
  let done = false;
  return {
    async transaction(fn, opts) {
      const r = await store.transaction(fn, opts);
      if (!done && opts?.readOnly) {
        done = true;
        await between();
      }
      return r;
    },
    close: () => store.close(),
  };
}

/** Another key and certificate for the unit, as a re-enrollment would record them. */
async function rekey(bed: EnrollBed, serial: string): Promise<void> {
  const unit = (await bed.store.transaction((tx) => tx.units.getBySerial(serial), { readOnly: true }))!;
  const der = randomBytes(300);
  await bed.store.transaction((tx) =>
    tx.superseded.supersede(serial, unit.certificateSerial, {
      publicKey: randomBytes(64), certificateDer: der, fingerprintSha256: createHash('sha256').update(der).digest('hex'), certificateSerial: randomBytes(16).toString('hex').replace(/^0+/, ''),
    }, new Date().toISOString()),
  );
}

const finished = async (regs: ReturnType<typeof createDpsRegistrations>, peer: DevicePeer) => {
  const started = regs.register(peer, { hello: 1 });
  const operationId = (started.body as { operationId: string }).operationId;
  return regs.poll(peer, operationId);
};

const recorded = async (bed: EnrollBed, serial: string) => ({
  enrollment: await bed.store.transaction((tx) => tx.enrollment.get(serial), { readOnly: true }),
  audit: (await bed.store.transaction((tx) => tx.audit.listBySubject([serial], 100), { readOnly: true })).map((r) => r.action).filter((a) => a.startsWith('device.')),
});

t.test('a registration is assigned with the group and the signed configuration; a foreign key is KEY_MISMATCH', async (t) => {
  const bed = await makeEnrollBed(t, 2);
  const [a, b] = await Promise.all(bed.chips.map((c) => peerOf(bed, c)));
  const regs = createDpsRegistrations({ enrollment: bed.service, store: bed.store, config });
  const ok = await finished(regs, a!);
  t.equal(ok.status, 200);
  t.match(ok.body, { status: 'assigned', registrationState: { registrationId: a!.serial, assignedHub: 'hub.local', payload: { group: 'default', devicePayload: { hello: 1 } } } });
  t.same((await recorded(bed, a!.serial)).audit, ['device.enrolled']);

  // b's connection showing a's key (what a certificate of another unit looks like here).
  const foreign = await finished(regs, { ...b!, publicKey: a!.publicKey });
  t.equal(foreign.status, 401);
  t.match(foreign.body, { errorCode: 401_002, message: /^KEY_MISMATCH/ });
  t.same(await recorded(bed, b!.serial), { enrollment: null, audit: [] });
});

t.test('a unit re-keyed after the registration read its records: KEY_MISMATCH in the enrollment transaction, nothing recorded', async (t) => {
  const bed = await makeEnrollBed(t, 1);
  const a = await peerOf(bed, bed.chips[0]!);
  const regs = createDpsRegistrations({ enrollment: bed.service, store: withGap(bed.store, () => rekey(bed, a.serial)), config });
  const reply = await finished(regs, a);
  t.equal(reply.status, 401);
  t.match(reply.body, { errorCode: 401_002, message: /^KEY_MISMATCH/ });
  t.same(await recorded(bed, a.serial), { enrollment: null, audit: [] });
});

t.test('a certificate revoked after the registration read its records: refused in the enrollment transaction, nothing recorded', async (t) => {
  const bed = await makeEnrollBed(t, 1);
  const a = await peerOf(bed, bed.chips[0]!);
  // The unit re-keyed first, and the connection given its current key but its former
  // certificate's serial, so that only the check of the shown serial can refuse it once that
  // serial is revoked in the gap (the unit's current certificate stays good).
  await rekey(bed, a.serial);
  const stale = { ...a, publicKey: (await bed.store.transaction((tx) => tx.units.getBySerial(a.serial), { readOnly: true }))!.publicKey };
  const regs = createDpsRegistrations({
    enrollment: bed.service, config,
    store: withGap(bed.store, async () => void await bed.store.transaction((tx) => tx.revocations.add({ certificateSerial: a.certificateSerial, kind: 'device', subject: a.serial, reason: 'keyCompromise', revokedAt: new Date().toISOString(), revokedBy: 'test' }))),
  });
  const reply = await finished(regs, stale);
  t.equal(reply.status, 200);
  t.match(reply.body, { status: 'disabled', registrationState: { registrationId: a.serial, errorCode: 401_003, errorMessage: /^DEVICE_REVOKED/ } });
  t.same(await recorded(bed, a.serial), { enrollment: null, audit: [] });
});
