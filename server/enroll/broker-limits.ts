/**
 * The resource limits of the embedded broker's device listener (issue 11 hole 3): what one
 * connection, and all of them together, may make the process hold. The defaults are sized for
 * the enrollment protocol (PROTOCOL.md: a few requests of at most 16 KiB per boot) and are the
 * defaults of `enroll.limits` in keyline.json (server/config.ts).
 */
import { MAX_MESSAGE_BYTES } from '../../common/protocol/enrollment.js';

/** Limits of the device listener (the in-process service connection has none). */
export interface BrokerLimits {
  /**
   * Largest Remaining Length (variable header + payload, MQTT 3.1.1 §2.2.3) a device packet may
   * declare; a longer one closes the connection on its fixed header, before the body is buffered.
   */
  maxPacketBytes: number;
  /** Concurrent TLS connections on the listener; further ones are dropped at accept. */
  maxConnections: number;
  /** Time from TCP accept to a complete TLS handshake, and from then to the CONNECT packet. */
  connectTimeoutSeconds: number;
  /** A connection with no inbound bytes (not even PINGREQ) for this long is closed. */
  idleTimeoutSeconds: number;
  /** Sustained PUBLISH rate per connection (token bucket refill); past it the connection is closed. */
  publishesPerMinute: number;
  /** PUBLISH burst per connection (token bucket size). */
  publishBurst: number;
  /** Distinct topic filters one connection may subscribe to; more get SUBACK 0x80. */
  maxSubscriptions: number;
  /** Packets aedes queues from a client before its CONNACK (aedes `queueLimit`); more close it. */
  queueLimit: number;
}

/** The defaults: the protocol's 16 KiB body + 1 KiB for topic and headers, and room for bursts of boots. */
export const DEFAULT_BROKER_LIMITS: Readonly<BrokerLimits> = Object.freeze({
  maxPacketBytes: MAX_MESSAGE_BYTES + 1024,
  maxConnections: 1000,
  connectTimeoutSeconds: 10,
  idleTimeoutSeconds: 300,
  publishesPerMinute: 120,
  publishBurst: 40,
  maxSubscriptions: 4,
  queueLimit: 8,
});
