/**
 * A chip's key-origin evidence (secure-element.ts AttestationEvidence) in the shape the station
 * API carries it (common/protocol/key-origin.ts): binary fields as lowercase hex. The ATECC608's
 * serial and key are not repeated: the request carries them, and the server compares the config
 * zone's serial with the request's.
 */
import type { KeyOriginEvidence } from '../common/protocol/key-origin.js';
import type { AttestationEvidence } from './secure-element.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** The wire form of `e`. */
export function evidenceWire(e: AttestationEvidence): KeyOriginEvidence {
  if (e.format === 'atecc608-unattested') return { format: e.format, configZone: hex(e.configZone) };
  return {
    format: e.format, applet: e.applet, objectId: e.objectId >>> 0, freshness: hex(e.freshness),
    command: hex(e.command), response: hex(e.response), attestationCertificate: hex(e.attestationCertificate),
  };
}
