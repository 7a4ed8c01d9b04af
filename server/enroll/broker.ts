/**
 * The broker seam: the enrollment service subscribes and publishes through this interface only,
 * so the same code runs against the embedded aedes broker and an external Mosquitto (both are
 * reached through the `mqtt` client: see mqtt-broker.ts).
 */

/** MQTT 5 request/response properties of a message (absent on MQTT 3.1.1). */
export interface MessageProperties {
  /** MQTT 5 Response Topic (§3.3.2.3.5). */
  responseTopic?: string;
  /** MQTT 5 Correlation Data (§3.3.2.3.6), echoed verbatim in the answer. */
  correlationData?: Uint8Array;
}

/** Receives one PUBLISH matching a subscription. */
export type MessageHandler = (topic: string, payload: Uint8Array, props: MessageProperties) => void;

/** A connection to an MQTT broker with the service's identity. */
export interface Broker {
  /** Subscribes `filter` at QoS 1 and delivers matching messages to `onMessage`. */
  subscribe(filter: string, onMessage: MessageHandler): Promise<void>;
  /** Publishes `payload` (QoS 1 by default); `props` are sent only on MQTT 5. */
  publish(topic: string, payload: Uint8Array, qos?: 0 | 1, props?: MessageProperties): Promise<void>;
  /** Ends the connection after in-flight publishes. */
  close(): Promise<void>;
}
