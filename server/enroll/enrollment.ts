/**
 * createEnrollment: subscribes the handler to every device's request topics on a Broker. With an
 * external broker the subscriptions are shared (`$share/keyline-enroll/…`, MQTT 5 §4.8.2, also
 * honoured by Mosquitto for 3.1.1 clients) so replicas split the requests instead of all
 * answering each one; the database makes any replica able to finish any exchange.
 */
import { TOPIC_ROOT } from '../../common/protocol/enrollment.js';
import type { Logger } from '../../common/log.js';
import type { Broker } from './broker.js';
import type { EnrollmentService } from './enrollment-service.js';
import { createEnrollHandler } from './handler.js';
import { DeviceRequestLimiter } from './device-request-limiter.js';

/** The wildcard filters of the two request topics. */
export const REQUEST_FILTERS = [`${TOPIC_ROOT}/+/enroll/req`, `${TOPIC_ROOT}/+/enroll/mtls`] as const;

/** What createEnrollment needs. */
export interface EnrollmentDeps {
  broker: Broker;
  service: EnrollmentService;
  rateLimitPerMinute: number;
  /** Shared-subscription group name, or undefined for plain subscriptions (the embedded broker). */
  shareGroup?: string;
  log?: Logger;
}

/** Starts answering enrollment requests; resolves once subscribed. */
export async function createEnrollment(d: EnrollmentDeps): Promise<{ close(): Promise<void> }> {
  const handler = createEnrollHandler({ broker: d.broker, service: d.service, limiter: new DeviceRequestLimiter({ perMinute: d.rateLimitPerMinute }), ...(d.log ? { log: d.log } : {}) });
  for (const f of REQUEST_FILTERS) await d.broker.subscribe(d.shareGroup ? `$share/${d.shareGroup}/${f}` : f, handler);
  return { close: () => d.broker.close() };
}
