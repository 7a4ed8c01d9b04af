/**
 * What DPS decides, decided from Keyline's records: a registration is the device's enrollment by
 * its verified certificate, through the enrollment service (EnrollmentService.enrollVerified:
 * a unit in good standing that holds that certificate's key, checked in the enrollment's own
 * transaction; group assignment, the enrollment and audit records, the group's signed
 * configuration); the hub and the reprovisioning policy come from the unit's group (keyline.json
 * `dps.groups`). Nothing is kept in this process that another replica would need: an operation
 * id names its device, and a poll that reaches a replica that never saw the register runs the
 * assignment there (the enrollment records make a second run a re-authentication, not a second
 * enrollment).
 *
 * Register answers at once (202 `assigning`, the assignment started); a poll waits for it at most
 * `answerWithinMs` and otherwise answers `assigning` again, so every request is answered well
 * within the clients' 30 s. Throttling as DPS: registrations per minute across the service, polls
 * per device per 10 s; both answer 429 with retry-after, which the clients obey.
 */
import { createHash, randomBytes } from 'node:crypto';
import { KeylineError } from '../../../common/errors.js';
import type { EnrollmentService } from '../../enroll/enrollment-service.js';
import { TokenBucket } from '../../../common/token-bucket.js';
import type { EnrollmentRecord, Store } from '../../store/store.js';
import type { DevicePeer } from '../mqtt-endpoint/device-connect.js';
import type { DpsConfig } from '../cloud-enroll-config.js';
import { assigned, assigning, dpsError, replyForError, type DpsReply, type RegistrationState } from './dps-replies.js';

/** What the registrations need. */
export interface DpsRegistrationsDeps {
  enrollment: Pick<EnrollmentService, 'enrollVerified'>;
  store: Store;
  config: DpsConfig;
  now?: () => Date;
  /** How long a poll waits for a running assignment before answering `assigning` again (default 20 s). */
  answerWithinMs?: number;
}

/** The registration operations of one DPS endpoint. */
export interface DpsRegistrations {
  register(device: DevicePeer, payload: unknown): DpsReply;
  poll(device: DevicePeer, operationId: string): Promise<DpsReply>;
}

/** Operations whose assignment runs or waits for its poll, per process, at most (the oldest dropped: a poll then runs it again). */
const MAX_OPERATIONS = 10_000;

/** Builds the registration operations. */
export function createDpsRegistrations(d: DpsRegistrationsDeps): DpsRegistrations {
  const now = d.now ?? (() => new Date());
  const c = d.config;
  const registrations = new TokenBucket(c.throttle.registrationBurst, c.throttle.registrationsPerMinute / 60_000);
  const polls = new Map<string, TokenBucket>();
  const running = new Map<string, Promise<DpsReply>>();
  const answerWithinMs = d.answerWithinMs ?? 20_000;

  const hubOf = (group: string) => c.groups[group]?.assignedHub ?? c.assignedHub;

  async function assign(device: DevicePeer, operationId: string, payload: unknown): Promise<DpsReply> {
    try {
      // The first enrollment, read before this one may become it (for the hub and substatus only).
      const previous = await d.store.transaction((tx) => tx.enrollment.get(device.serial), { readOnly: true });
      // The connection's certificate is checked against the unit (its key, its serial's
      // revocation) inside the enrollment's transaction, not before it.
      const r = await d.enrollment.enrollVerified(device.serial, { publicKey: device.publicKey, serialHex: device.certificateSerial });
      // A first registration is created with the enrollment record: its time, as later answers show it.
      const created = previous ?? (await d.store.transaction((tx) => tx.enrollment.get(device.serial), { readOnly: true }));
      return assigned(operationId, stateOf(device, previous, created?.at, r, payload));
    } catch (err) {
      return replyForError(err, operationId, device.serial, now());
    }
  }

  function stateOf(device: DevicePeer, previous: EnrollmentRecord | null, createdAt: string | undefined, r: Awaited<ReturnType<EnrollmentService['enrollVerified']>>, payload: unknown): RegistrationState {
    const t = now().toISOString();
    const policy = c.groups[r.group]?.reprovision ?? 'migrate';
    // Reprovisioning (DPS reprovisionPolicy): 'never' keeps the hub of the first registration;
    // otherwise a device whose group moved is assigned its new group's hub, data migrated or reset.
    const moved = previous !== null && previous.group !== r.group;
    const assignedHub = moved && policy === 'never' ? hubOf(previous.group) : hubOf(r.group);
    const substatus = !moved || policy === 'never' ? 'initialAssignment' : policy === 'reset' ? 'deviceDataReset' : 'deviceDataMigrated';
    const etag = Buffer.from(JSON.stringify(createHash('sha256').update(`${device.serial}|${assignedHub}|${r.group}|${t}`).digest('hex').slice(0, 32))).toString('base64');
    return {
      registrationId: device.serial, deviceId: device.serial, assignedHub, status: 'assigned', substatus,
      createdDateTimeUtc: createdAt ?? t, lastUpdatedDateTimeUtc: t, etag, x509: {},
      // The group's configuration signed by the factory (as in the Keyline protocol), with the
      // device's own registration payload echoed back.
      payload: {
        group: r.group, config: r.config, configSignature: r.configSignature, configSignerCertificate: r.configSignerCertificate, reenrolled: r.reenrolled,
        ...(payload === undefined ? {} : { devicePayload: payload }),
      },
    };
  }

  function start(device: DevicePeer, operationId: string, payload: unknown): Promise<DpsReply> {
    const p = assign(device, operationId, payload);
    running.set(operationId, p);
    if (running.size > MAX_OPERATIONS) running.delete(running.keys().next().value!);
    return p;
  }

  return {
    register(device, payload) {
      if (!registrations.take()) {
        return replyForError(new KeylineError('RATE_LIMITED', `registrations: more than ${c.throttle.registrationsPerMinute} a minute`, { detail: { retryAfterSeconds: Math.max(1, Math.ceil(60 / c.throttle.registrationsPerMinute)) } }), null, device.serial, now());
      }
      const operationId = `${device.serial}.${Date.now().toString(36)}.${randomBytes(6).toString('hex')}`;
      void start(device, operationId, payload);
      return assigning(operationId, c.pollAfterSeconds);
    },

    async poll(device, operationId) {
      let bucket = polls.get(device.serial);
      if (!bucket) {
        polls.set(device.serial, (bucket = new TokenBucket(c.throttle.pollsPerTenSeconds, c.throttle.pollsPerTenSeconds / 10_000)));
        if (polls.size > MAX_OPERATIONS * 10) polls.delete(polls.keys().next().value!);
      }
      if (!bucket.take()) return replyForError(new KeylineError('RATE_LIMITED', `device ${device.serial}: more than ${c.throttle.pollsPerTenSeconds} polls in 10 s`, { detail: { retryAfterSeconds: 2 } }), operationId, device.serial, now());
      // An operation belongs to the device that registered it; another device's id is not found.
      if (operationId.split('.')[0] !== device.serial) return dpsError(404, 1, `operation ${operationId} not found`, now());
      const p = running.get(operationId) ?? start(device, operationId, undefined);
      let timer: NodeJS.Timeout | undefined;
      const late = new Promise<null>((resolve) => (timer = setTimeout(() => resolve(null), answerWithinMs)));
      const r = await Promise.race([p, late]);
      clearTimeout(timer);
      if (r === null) return assigning(operationId, c.pollAfterSeconds);
      running.delete(operationId);
      return r;
    },
  };
}
