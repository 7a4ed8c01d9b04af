/**
 * AWS IoT Fleet Provisioning's accepted payloads (the MQTT API's JSON, as AWS documents it):
 * what Keyline's endpoint sends and what a device (the simulator, or firmware on AWS's SDK) reads.
 */

/** CreateCertificateFromCsr's accepted payload. */
export interface CreatedCertificate {
  /** Lowercase hex SHA-256 of the certificate's DER. */
  certificateId: string;
  certificatePem: string;
  certificateOwnershipToken: string;
}

/** RegisterThing's accepted payload. */
export interface RegisteredThing {
  /** A flat string map (the group's signed configuration). */
  deviceConfiguration: Record<string, string>;
  thingName: string;
}
