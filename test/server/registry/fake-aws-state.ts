/**
 * What the local AWS IoT stand-in holds (fake-aws-iot.ts), in a module of its own so the JITP
 * template runner (fake-aws-jitp.ts) can use it without importing the server back.
 */
/** A certificate the fake knows (device or CA). */
export interface FakeCert { id: string; arn: string; pem: string; status: string; caCertificateId?: string; policies: Set<string> }
/** A thing the fake knows. */
export interface FakeThing { name: string; arn: string; id: string; thingTypeName?: string; attributes: Record<string, string>; principals: Set<string>; groups: Set<string> }
/** A registered CA. */
export interface FakeCa { id: string; arn: string; pem: string; verificationPem: string; status: string; autoRegistration: string; registrationConfig?: { templateBody?: string; templateName?: string; roleArn?: string } }

/** Everything the fake holds; tests read it directly. */
export interface FakeAwsIotState {
  certificates: Map<string, FakeCert>;
  things: Map<string, FakeThing>;
  cas: Map<string, FakeCa>;
  policies: Set<string>;
  thingGroups: Set<string>;
  thingTypes: Set<string>;
  registrationCode: string;
  /** Every request that reached an operation: its name and URL. */
  calls: { op: string; url: string }[];
  /** Requests refused as malformed (tests assert this stays empty). */
  violations: string[];
}
