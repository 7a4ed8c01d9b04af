/**
 * A part on the line through the SecureElement seam alone (secure-element/secure-element.ts): the
 * SE050, which stores its certificates whole, as DER, in read-only binary objects
 * (SE050-OBJECT-MAP.md), so what is written is exactly what was issued and what is read back must
 * be the same bytes. Its key-origin evidence is the chip's attested read of the new key.
 */
import { SecureElementError } from '../common/errors.js';
import type { KeyOriginEvidence } from '../common/protocol/key-origin.js';
import { evidenceWire } from '../secure-element/attestation-wire.js';
import type { SecureElement } from '../secure-element/secure-element.js';
import type { CertChecker, IssuedDer } from './cert-check.js';
import { UnitFault } from './line-signals.js';
import type { UnitChip, UnitChipFacts } from './unit-chip.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** One part behind a SecureElement. */
export class ElementUnitChip implements UnitChip<IssuedDer> {
  constructor(readonly element: SecureElement, private readonly checker: CertChecker) {}

  get kind(): SecureElement['chip'] {
    return this.element.chip;
  }

  async inspect(): Promise<UnitChipFacts> {
    const id = await this.element.identity();
    const st = await this.element.state();
    return { chip: id.chip, serialHex: id.serialHex, serial: id.serial, blank: !st.prepared && !st.keyPresent && !st.certificatesWritten };
  }

  configure(): Promise<void> {
    return this.element.prepare();
  }

  /**
   * A part that refuses because it already holds a key was killed between its key generation and
   * the journal's `keyed`: that key was made inside the chip for this unit and nobody has seen it
   * (the journal records it before any request leaves), so it is this unit's key. The 608 just
   * generates again; the SE050's key policy never lets a key be replaced.
   */
  async generateKey(): Promise<Uint8Array> {
    try {
      return await this.element.generateKey();
    } catch (err) {
      if (err instanceof SecureElementError && err.code === 'SE05X_DENIED' && (await this.element.state()).keyPresent) return this.element.publicKey();
      throw err;
    }
  }

  readPublicKey(): Promise<Uint8Array> {
    return this.element.publicKey();
  }

  async evidence(freshness: Uint8Array): Promise<KeyOriginEvidence> {
    return evidenceWire(await this.element.attest(freshness));
  }

  check(issued: { certificatePem: string; chainPem: string }, serialHex: string, publicKey: Uint8Array): IssuedDer {
    return this.checker.checkIssued(issued, serialHex, publicKey);
  }

  write(certs: IssuedDer): Promise<void> {
    return this.element.writeCertificates({ device: certs.deviceDer, chain: certs.chainDer });
  }

  /** Byte equality with DER whose signatures check() verified is the whole check. */
  async verify(certs: IssuedDer): Promise<void> {
    const read = await this.element.readCertificates();
    if (hex(read.device) !== hex(certs.deviceDer)) throw new UnitFault('read-back check failed: the device certificate read from the chip differs from the issued one');
    if (read.chain.length !== certs.chainDer.length || read.chain.some((c, i) => hex(c) !== hex(certs.chainDer[i]!))) {
      throw new UnitFault(`read-back check failed: the chain read from the chip (${read.chain.length} certificates) differs from the issued chain (${certs.chainDer.length})`);
    }
  }

  lock(): Promise<void> {
    return this.element.finalise();
  }
}
