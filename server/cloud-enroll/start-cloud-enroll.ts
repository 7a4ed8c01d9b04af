/**
 * Starts the cloud device-provisioning endpoints (issue 16) configured in keyline.json: AWS IoT
 * Fleet Provisioning (`awsFleet`) and Azure DPS (`dps`), each an MQTT listener over TLS in front
 * of the same services as every other entry point: the enrollment service (standing, group,
 * signed configuration, the enrollment and audit records) and the provisioning service
 * (issuance rules). Runs where the enrollment part runs (one process per server).
 */
import { readFileSync } from 'node:fs';
import type { Logger } from '../../common/log.js';
import { toPem } from '../../common/pem.js';
import type { Config } from '../config.js';
import { storeAdmission, withBindingCache } from '../enroll/device-admission.js';
import { DeviceRequestLimiter } from '../enroll/device-request-limiter.js';
import type { EnrollmentService } from '../enroll/enrollment-service.js';
import type { Provisioning } from '../services/provisioning.js';
import type { Store } from '../store/store.js';
import { fleetSessionPolicy } from './aws-fleet/fleet-endpoint.js';
import { createFleetService } from './aws-fleet/fleet-service.js';
import { dpsSessionPolicy } from './dps/dps-endpoint.js';
import { createDpsRegistrations } from './dps/dps-registrations.js';
import { MqttListener } from './mqtt-endpoint/mqtt-listener.js';

/** Inputs from the composition root. */
export interface StartCloudEnrollInput {
  config: Config;
  store: Store;
  enrollment: EnrollmentService;
  provisioning: Pick<Provisioning, 'signPendingReissue' | 'activatePendingReissue'>;
  /** DER of the root and of every issuing CA whose device certificates are accepted. */
  caDers: Uint8Array[];
  log: Logger;
}

/** The running endpoints (a URL for each one started). */
export interface RunningCloudEnroll {
  awsFleetUrl?: string;
  dpsUrl?: string;
  close(): Promise<void>;
}

/** Starts the endpoints the config enables; none when neither section is present. */
export async function startCloudEnroll(i: StartCloudEnrollInput): Promise<RunningCloudEnroll> {
  const { config, store, log } = i;
  const aws = config.awsFleet?.enabled ? config.awsFleet : undefined;
  const dps = config.dps?.enabled ? config.dps : undefined;
  if (!aws && !dps) return { close: async () => undefined };
  const ca = i.caDers.map((d) => toPem(d));
  // The server's own certificate with its issuing CA, as the embedded broker presents it.
  const tls = { key: readFileSync(config.server.tlsKey), cert: readFileSync(config.server.tlsCert, 'utf8') + (ca[1] ?? ''), ca };
  const isRevoked = async (s: string) => (await store.transaction((tx) => tx.revocations.get(s), { readOnly: true })) !== null;
  const admission = withBindingCache(storeAdmission(store));
  const listeners: Array<MqttListener<unknown>> = [];
  const close = async () => {
    for (const l of listeners.splice(0)) await l.close();
  };
  try {
    let awsFleetUrl: string | undefined;
    let dpsUrl: string | undefined;
    if (aws) {
      const alog = log.child({ area: 'aws-fleet' });
      const service = createFleetService({ store, provisioning: i.provisioning, enrollment: i.enrollment, config: aws, limiter: new DeviceRequestLimiter({ perMinute: aws.rateLimitPerMinute }) });
      const l = await MqttListener.start({ name: 'aws-fleet', host: aws.host, port: aws.port, tls, alpn: 'aws', limits: aws.limits, log: alog, policy: fleetSessionPolicy({ service, isRevoked, admission, log: alog }) });
      listeners.push(l as MqttListener<unknown>);
      awsFleetUrl = l.url;
    }
    if (dps) {
      const dlog = log.child({ area: 'dps' });
      const registrations = createDpsRegistrations({ enrollment: i.enrollment, store, config: dps });
      const l = await MqttListener.start({ name: 'dps', host: dps.host, port: dps.port, tls, alpn: 'none', limits: dps.limits, log: dlog, policy: dpsSessionPolicy({ idScope: dps.idScope, registrations, isRevoked, admission, log: dlog }) });
      listeners.push(l as MqttListener<unknown>);
      dpsUrl = l.url;
    }
    return { ...(awsFleetUrl ? { awsFleetUrl } : {}), ...(dpsUrl ? { dpsUrl } : {}), close };
  } catch (err) {
    await close();
    throw err;
  }
}
