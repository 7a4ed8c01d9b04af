/**
 * The SecureElement seam for an NXP SE05x (SE050), over Se05xDevice and Keyline's object map
 * (object-map.ts, ../SE050-OBJECT-MAP.md). The applet's creation policies do the locking: the
 * device key is sign-only and never replaced, certificates are read-only once written whole,
 * the counter only goes up, so `finalise` checks rather than locks.
 */
import { KeylineError, SecureElementError } from '../../common/errors.js';
import { readTlv } from '../../common/der/reader.js';
import { Ar, maxBody, ObjectId } from '../../common/se05x/applet-constants.js';
import { parseAttestedRead, parseAttributes } from '../../common/se05x/attestation-format.js';
import { derSignatureToRaw } from '../../common/se05x/ecdsa-signature.js';
import type { ChipIdentity, DeviceCertificates, ProvisioningState, Se050AttestationEvidence, SecureElement } from '../secure-element.js';
import { chainObjectId, COUNTER_SIZE, MAX_CHAIN, Se050Object, Se050Policy } from './object-map.js';
import { hexId, Se05xDevice } from './se05x-device.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The SE050 behind the seam. */
export class Se05xSecureElement implements SecureElement {
  readonly chip = 'se050' as const;
  readonly device: Se05xDevice;
  #opened: Promise<void> | undefined;

  constructor(device: Se05xDevice) {
    this.device = device;
  }

  async identity(): Promise<ChipIdentity> {
    await this.#open();
    const serial = await this.device.readObject(ObjectId.UNIQUE_ID);
    return { chip: 'se050', serial, serialHex: hex(serial).toUpperCase() };
  }

  async state(): Promise<ProvisioningState> {
    await this.#open();
    const d = this.device;
    const counter = await d.exists(Se050Object.ENROLLMENT_COUNTER);
    const keyPresent = await d.exists(Se050Object.DEVICE_KEY);
    const certificatesWritten = (await d.exists(Se050Object.DEVICE_CERT)) && (await d.exists(chainObjectId(0)));
    return { prepared: counter, keyPresent, certificatesWritten, finalised: counter && keyPresent && certificatesWritten };
  }

  async prepare(): Promise<void> {
    await this.#open();
    await this.device.ensureP256();
    if (!(await this.device.exists(Se050Object.ENROLLMENT_COUNTER))) {
      await this.device.createCounter(Se050Object.ENROLLMENT_COUNTER, COUNTER_SIZE, Se050Policy.counter);
    }
  }

  async generateKey(): Promise<Uint8Array> {
    await this.#open();
    if (await this.device.exists(Se050Object.DEVICE_KEY)) {
      throw new SecureElementError('SE05X_DENIED', `device key ${hexId(Se050Object.DEVICE_KEY)} already exists: read it with publicKey(), never generate twice`);
    }
    await this.device.generateEcKey(Se050Object.DEVICE_KEY, Se050Policy.deviceKey);
    return this.publicKey();
  }

  async publicKey(): Promise<Uint8Array> {
    await this.#open();
    const point = await this.device.readObject(Se050Object.DEVICE_KEY);
    if (point.length !== 65 || point[0] !== 0x04) throw new SecureElementError('SE05X_BAD_RESPONSE', `device key reads as ${point.length} bytes, not an uncompressed P-256 point`);
    return point.slice(1);
  }

  async writeCertificates(certs: DeviceCertificates): Promise<void> {
    await this.#open();
    if (certs.chain.length < 1 || certs.chain.length > MAX_CHAIN) {
      throw new KeylineError('VALIDATION_FAILED', `chain must hold 1-${MAX_CHAIN} certificates (issuing CA first), got ${certs.chain.length}`);
    }
    await this.#writeOnce(Se050Object.DEVICE_CERT, certs.device, 'device certificate');
    for (const [i, der] of certs.chain.entries()) await this.#writeOnce(chainObjectId(i), der, `chain certificate ${i}`);
  }

  async readCertificates(): Promise<DeviceCertificates> {
    await this.#open();
    const device = await this.device.readBinary(Se050Object.DEVICE_CERT);
    const chain: Uint8Array[] = [];
    for (let i = 0; i < MAX_CHAIN && (await this.device.exists(chainObjectId(i))); i++) chain.push(await this.device.readBinary(chainObjectId(i)));
    return { device, chain };
  }

  async signDigest(digest: Uint8Array): Promise<Uint8Array> {
    await this.#open();
    const der = await this.device.sign(Se050Object.DEVICE_KEY, digest);
    const raw = derSignatureToRaw(der);
    if (!raw) throw new SecureElementError('SE05X_BAD_RESPONSE', 'ECDSASign answered a signature that is not DER ECDSA-Sig-Value');
    return raw;
  }

  async counterIncrement(): Promise<number> {
    await this.#open();
    await this.device.incrementCounter(Se050Object.ENROLLMENT_COUNTER);
    return this.counterRead();
  }

  async counterRead(): Promise<number> {
    await this.#open();
    return Number(await this.device.readCounter(Se050Object.ENROLLMENT_COUNTER));
  }

  /**
   * Checks what the policies already guarantee: the key, certificates and counter exist, and the
   * key's attributes (read through an attested read, so as the chip reports them) say it was
   * generated inside and is sign-only and not exportable.
   */
  async finalise(): Promise<void> {
    const st = await this.state();
    if (!st.finalised) throw new SecureElementError('SE05X_DENIED', `cannot finalise: ${JSON.stringify(st)}`);
    const e = await this.attest(await this.device.getRandom(16));
    const read = parseAttestedRead(e.response, e.applet);
    const attrs = read && parseAttributes(read.attributes, e.applet);
    const rule = attrs?.policy.find((p) => p.authId === 0);
    if (!attrs || attrs.origin !== 0x02 || !rule || (rule.ar & ~(Ar.SIGN | Ar.READ)) !== 0) {
      throw new SecureElementError('SE05X_BAD_RESPONSE', 'device key is not an internally generated, sign-only key by its attested attributes');
    }
  }

  async attest(nonce: Uint8Array): Promise<Se050AttestationEvidence> {
    await this.#open();
    const raw = await this.device.readAttested(Se050Object.DEVICE_KEY, nonce);
    const padded = await this.device.readBinary(ObjectId.ATTESTATION_CERT);
    return {
      chip: 'se050', format: 'se05x-attested-read', applet: raw.applet, objectId: Se050Object.DEVICE_KEY,
      freshness: nonce.slice(), command: raw.command, response: raw.response, attestationCertificate: stripPadding(padded),
    };
  }

  close(): Promise<void> {
    return this.device.close();
  }

  /** Selects the applet once per instance (a SELECT opens the applet session). */
  #open(): Promise<void> {
    this.#opened ??= this.device.select().then(() => undefined, (err: unknown) => {
      this.#opened = undefined;
      throw err;
    });
    return this.#opened;
  }

  /**
   * Creates a READ-only binary object holding `der` in one WriteBinary (a later chunk would need
   * WRITE, which the policy withholds); a part already holding the same bytes is left alone, one
   * holding others refuses.
   */
  async #writeOnce(id: number, der: Uint8Array, what: string): Promise<void> {
    if (await this.device.exists(id)) {
      const held = await this.device.readBinary(id);
      if (hex(held) !== hex(der)) throw new SecureElementError('SE05X_DENIED', `${what} object ${hexId(id)} already holds a different certificate`);
      return;
    }
    // Body: policy (11 0A ...) 11 + id 6 + size 4 + data header 4.
    const room = maxBody(this.device.applet ?? '3.1') - 25;
    if (der.length > room) throw new KeylineError('VALIDATION_FAILED', `${what} of ${der.length} bytes does not fit one APDU (${room} bytes), so it cannot be stored read-only`);
    await this.device.writeBinary(id, der, Se050Policy.certificate, room);
  }
}

/** A DER certificate without the zero padding NXP may leave after it in F0000013. */
function stripPadding(b: Uint8Array): Uint8Array {
  try {
    return b.slice(0, readTlv(b, 0, b.length).end);
  } catch {
    return b.slice();
  }
}
