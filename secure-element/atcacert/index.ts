/**
 * Microchip-compatible compressed certificates (cryptoauthlib's atcacert): definitions, the
 * 72-byte compressed form, and the rebuild a device performs.
 */
export * from './cert-def.js';
export { compressCertificate, compressWithAny } from './compress.js';
export { rebuildCertificate, checkCompressedHeader, rawP256ToSpki, type RebuildInputs } from './rebuild.js';
export { fillTemplate, attachSignature, compressedHeader, keyId, type BuildInputs, type FilledCert } from './build.js';
export * from './date.js';
export { generateSerial, isGeneratedSerial, type SerialInputs } from './serial.js';
export * from './device-defs.js';
export { signerCertDef } from './signer-def.js';
export { readCertFields, subjectKeyId, type CertFields } from './cert-fields.js';
export { certDefToC } from './cert-def-to-c.js';
