/**
 * Per-connection rules of the embedded broker for device clients, beyond the topic policy of
 * device-acl.ts (issue 11 hole 3): no retained messages, QoS 0 or 1 only, a publish rate per
 * connection and a cap on subscriptions. Pure state keyed by the aedes client object, held in
 * WeakMaps so a closed connection leaves nothing behind.
 */
import { TokenBucket } from '../../common/token-bucket.js';
import type { BrokerLimits } from './broker-limits.js';

/** The PUBLISH fields the rules read. */
export interface PublishFacts {
  qos: number;
  retain: boolean;
}

/** The per-connection rules for device clients. */
export class ClientLimits {
  readonly #limits: Pick<BrokerLimits, 'publishesPerMinute' | 'publishBurst' | 'maxSubscriptions'>;
  readonly #now: () => number;
  readonly #buckets = new WeakMap<object, TokenBucket>();
  readonly #filters = new WeakMap<object, Set<string>>();

  constructor(limits: Pick<BrokerLimits, 'publishesPerMinute' | 'publishBurst' | 'maxSubscriptions'>, now: () => number = Date.now) {
    this.#limits = limits;
    this.#now = now;
  }

  /** Null when `client` may make this PUBLISH, else why not (the broker then closes the connection). */
  checkPublish(client: object, p: PublishFacts): string | null {
    // A retained message outlives the connection and is handed to every later subscriber: the
    // protocol never needs one from a device, and it is how one client filled the broker.
    if (p.retain) return 'retained messages are not accepted from devices';
    // QoS 2 keeps per-packet state until PUBREL (MQTT 3.1.1 §4.3.3); the protocol uses 0 and 1.
    if (p.qos > 1) return `QoS ${p.qos} is not accepted (0 or 1)`;
    let bucket = this.#buckets.get(client);
    if (!bucket) this.#buckets.set(client, (bucket = new TokenBucket(this.#limits.publishBurst, this.#limits.publishesPerMinute / 60_000, this.#now)));
    if (!bucket.take()) return `more than ${this.#limits.publishBurst} publishes at once or ${this.#limits.publishesPerMinute} a minute`;
    return null;
  }

  /**
   * True when `client` may hold subscription `filter`: an already granted filter always, a new
   * one while fewer than maxSubscriptions distinct filters were granted on this connection.
   * Counted at grant time, since one SUBSCRIBE may carry many filters.
   */
  maySubscribe(client: object, filter: string): boolean {
    let granted = this.#filters.get(client);
    if (!granted) this.#filters.set(client, (granted = new Set()));
    if (granted.has(filter)) return true;
    if (granted.size >= this.#limits.maxSubscriptions) return false;
    granted.add(filter);
    return true;
  }
}
