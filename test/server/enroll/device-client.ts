/**
 * A bare test device: the emulated chip behind the real driver (counter 0, Sign with slot 0) and
 * a raw `mqtt` connection, so tests can capture, alter and re-send protocol messages that the
 * firmware simulator would never produce.
 */
import mqtt, { type IClientOptions, type MqttClient } from 'mqtt';
import { randomBytes } from 'node:crypto';
import type { Atecc608Chip } from '../../../emulator/atecc608/chip.js';
import { AteccDevice } from '../../../secure-element/device.js';
import { InProcessTransport } from '../../../emulator/in-process-transport.js';
import {
  certificateFingerprint, encodeMessage, enrollmentDigest, enrollRequestTopic, enrollResponse, enrollResponseTopic, type EnrollResponse, type ProofMessage,
} from '../../../common/protocol/enrollment.js';
import type { Store } from '../../../server/store/store.js';

/** A chip's identity as a device knows it. */
export interface ChipDevice {
  serial: string;
  certDer: Uint8Array;
  dev: AteccDevice;
  /** Increments counter 0 and signs the enrollment digest for `nonce` in the chip. */
  prove(nonce: string, opts?: { counter?: number; certDer?: Uint8Array }): Promise<ProofMessage>;
}

/** The chip's driver and its recorded certificate. */
export async function chipDevice(chip: Atecc608Chip, store: Store): Promise<ChipDevice> {
  const serial = Buffer.from(chip.serialNumber).toString('hex').toUpperCase();
  const unit = await store.transaction((tx) => tx.units.getBySerial(serial), { readOnly: true });
  if (!unit) throw new Error(`no unit ${serial}`);
  const dev = new AteccDevice(new InProcessTransport(chip, { wait: false }));
  return {
    serial, certDer: unit.certificateDer, dev,
    async prove(nonce, o = {}) {
      // The counter moves first: every attempt costs one step, as the firmware does it.
      const counter = o.counter ?? (await dev.counterIncrement(0));
      const digest = enrollmentDigest({ nonce: Buffer.from(nonce, 'hex'), counter, serial: Buffer.from(serial, 'hex'), certFingerprint: certificateFingerprint(o.certDer ?? unit.certificateDer) });
      const sig = await dev.signDigest(0, digest);
      return { type: 'proof', serial, nonce, counter, signature: Buffer.from(sig).toString('hex') };
    },
  };
}

/** A raw MQTT connection of one device, answers collected by correlation id. */
export class MqttDevice {
  readonly answers: EnrollResponse[] = [];
  /** MQTT 5 Correlation Data of each answer (same index as answers; undefined on 3.1.1). */
  readonly correlationData: Array<Buffer | undefined> = [];
  #waiters: Array<() => void> = [];

  private constructor(readonly client: MqttClient, readonly serial: string) {
    client.on('message', (topic, payload, packet) => {
      if (topic !== enrollResponseTopic(serial)) return;
      this.answers.push(enrollResponse.parse(JSON.parse(payload.toString('utf8'))));
      this.correlationData.push(packet.properties?.correlationData);
      for (const w of this.#waiters.splice(0)) w();
    });
  }

  /** Connects (TLS, client id = serial unless given) and subscribes to the device's answer topic. */
  static async connect(url: string, serial: string, o: { ca: string[]; cert?: string; key?: string; clientId?: string; protocolVersion?: 4 | 5; subscribe?: boolean }): Promise<MqttDevice> {
    const opts: IClientOptions = {
      clientId: o.clientId ?? serial, protocolVersion: o.protocolVersion ?? 4, reconnectPeriod: 0, connectTimeout: 5000,
      ca: o.ca, rejectUnauthorized: true, ...(o.cert ? { cert: o.cert, key: o.key } : {}),
    } as IClientOptions;
    const client = await mqtt.connectAsync(url, opts);
    const d = new MqttDevice(client, serial);
    if (o.subscribe !== false) {
      const g = await client.subscribeAsync(enrollResponseTopic(serial), { qos: 1 });
      if (g[0]!.qos >= 0x80) throw new Error('answer topic refused');
    }
    return d;
  }

  /** Publishes `body` (object or raw bytes) on the request topic and waits for the answer with its correlation id. */
  async request(body: Record<string, unknown> | Uint8Array, o: { topic?: string; timeoutMs?: number; correlationData?: Buffer } = {}): Promise<EnrollResponse> {
    const cid = randomBytes(6).toString('hex');
    const payload = body instanceof Uint8Array ? body : encodeMessage({ ...body, correlationId: cid } as never);
    const n = this.answers.length;
    await this.client.publishAsync(o.topic ?? enrollRequestTopic(this.serial), Buffer.from(payload), {
      qos: 1, ...(o.correlationData ? { properties: { responseTopic: enrollResponseTopic(this.serial), correlationData: o.correlationData } } : {}),
    });
    const deadline = Date.now() + (o.timeoutMs ?? 5000);
    for (;;) {
      const hit = this.answers.slice(n).find((a) => body instanceof Uint8Array || a.correlationId === cid);
      if (hit) return hit;
      if (Date.now() > deadline) throw new Error(`no answer for ${this.serial}`);
      await new Promise<void>((r) => {
        const timer = setTimeout(r, 100);
        this.#waiters.push(() => { clearTimeout(timer); r(); });
      });
    }
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }
}
