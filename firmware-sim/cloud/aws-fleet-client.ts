/**
 * AWS IoT Fleet Provisioning's MQTT API from the device side, on the `mqtt` package
 * (../shared/reference/cloud-provisioning.md §3): CreateCertificateFromCsr with a CSR the chip
 * signed, then RegisterThing with the certificate ownership token. As the SDKs do, the accepted
 * and rejected topics are subscribed before each request and the first message on either is
 * the answer (the API has no correlation token: the endpoint answers only this connection).
 * JSON topics only, as the Node SDK.
 */
import { KeylineError, type ErrorCode } from '../../common/errors.js';
import { CloudRefusedError, keylineCodeIn } from './cloud-errors.js';
import { CloudLink, type CloudLinkOptions } from './cloud-mqtt.js';
import type { CreatedCertificate, RegisteredThing } from '../../common/protocol/aws-fleet.js';

/** AWS's rejected errorCode values as the nearest Keyline code, when the message carries none. */
const BY_AWS_CODE: Record<string, ErrorCode> = {
  InvalidCertificateOwnershipToken: 'NONCE_INVALID',
  ACCESS_DENIED: 'FORBIDDEN',
  ResourceNotFound: 'NOT_FOUND',
  Throttling: 'RATE_LIMITED',
  ResourceAlreadyExists: 'DUPLICATE_KEY',
  InvalidPayload: 'VALIDATION_FAILED',
};

/** One device's Fleet Provisioning connection. */
export class AwsFleetClient {
  private constructor(private readonly link: CloudLink) {}

  /** Connects with mutual TLS (the device's certificate is its claim); any client id is accepted. */
  static async connect(o: CloudLinkOptions): Promise<AwsFleetClient> {
    return new AwsFleetClient(await CloudLink.connect('aws-fleet', o));
  }

  /** CreateCertificateFromCsr: a new certificate for the CSR's key, pending until RegisterThing. */
  async createCertificateFromCsr(csrPem: string): Promise<CreatedCertificate> {
    const body = await this.#call('$aws/certificates/create-from-csr/json', { certificateSigningRequest: csrPem }, 'CreateCertificateFromCsr');
    const { certificateId, certificatePem, certificateOwnershipToken } = body;
    if (typeof certificateId !== 'string' || typeof certificatePem !== 'string' || typeof certificateOwnershipToken !== 'string') {
      throw new KeylineError('BAD_SERVER_RESPONSE', 'CreateCertificateFromCsr accepted without certificateId, certificatePem and certificateOwnershipToken');
    }
    return { certificateId, certificatePem, certificateOwnershipToken };
  }

  /** RegisterThing on template `templateName`: the certificate activated, the thing's configuration returned. */
  async registerThing(templateName: string, certificateOwnershipToken: string, parameters: Record<string, string>): Promise<RegisteredThing> {
    const body = await this.#call(`$aws/provisioning-templates/${templateName}/provision/json`, { certificateOwnershipToken, parameters }, 'RegisterThing');
    const { deviceConfiguration, thingName } = body;
    const flat = typeof deviceConfiguration === 'object' && deviceConfiguration !== null && Object.values(deviceConfiguration).every((v) => typeof v === 'string');
    if (!flat || typeof thingName !== 'string') throw new KeylineError('BAD_SERVER_RESPONSE', 'RegisterThing accepted without a flat string deviceConfiguration and a thingName');
    return { deviceConfiguration: deviceConfiguration as Record<string, string>, thingName };
  }

  close(): Promise<void> {
    return this.link.close();
  }

  async #call(topic: string, request: Record<string, unknown>, api: string): Promise<Record<string, unknown>> {
    const accepted = `${topic}/accepted`;
    const rejected = `${topic}/rejected`;
    await this.link.subscribe([accepted, rejected]);
    const reply = await this.link.request(topic, JSON.stringify(request), (t) => t === accepted || t === rejected, api);
    let body: unknown;
    try {
      body = JSON.parse(reply.payload.toString('utf8'));
    } catch (err) {
      throw new KeylineError('BAD_SERVER_RESPONSE', `${api} answer on ${reply.topic} is not JSON`, { cause: err });
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new KeylineError('BAD_SERVER_RESPONSE', `${api} answer on ${reply.topic} is not an object`);
    const b = body as Record<string, unknown>;
    if (reply.topic === accepted) return b;
    const status = typeof b.statusCode === 'number' ? b.statusCode : 0;
    const code = keylineCodeIn(b.errorMessage) ?? BY_AWS_CODE[String(b.errorCode)] ?? (status === 429 ? 'RATE_LIMITED' : status >= 500 ? 'INTERNAL' : 'ENROLLMENT_REJECTED');
    throw new CloudRefusedError('aws-fleet', code, `${api} rejected: ${status} ${String(b.errorCode)}: ${String(b.errorMessage)}`, {
      wire: { statusCode: status, errorCode: b.errorCode, errorMessage: b.errorMessage },
    });
  }
}
