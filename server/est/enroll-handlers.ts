/**
 * simpleenroll and simplereenroll (RFC 7030 §4.2): parse the base64 PKCS#10, decide which unit it
 * names, and call the provisioning service the station API calls (issueUnit, reissueUnit): the
 * same quota, duplicate-key, serial, audit and outbox rules, and the CSR signature as proof of
 * possession. The answer is the issued certificate as certs-only PKCS#7.
 *
 * Device identity: simpleenroll takes the chip serial from the CSR subject (serialNumber, else CN,
 * 18 hex digits) and the work order from the label; simplereenroll takes both from the unit of the
 * certificate the client authenticated with, whose subject the CSR must repeat (§4.2.2).
 */
import { createHash } from 'node:crypto';
import type { Context } from 'koa';
import { KeylineError } from '../../common/errors.js';
import { parseCsr } from '../services/public-key.js';
import type { EstDeps } from './est-deps.js';
import { estIdentityOf, type EstIdentity } from './est-auth.js';
import { readPkcs10 } from './est-body.js';
import { certificateSubject, readEstCsr, sameName, serialOfSubject, type EstCsr } from './est-csr.js';
import { certsOnly } from './pkcs7-certs-only.js';
import { EST_TYPES, sendDer, sendText } from './est-response.js';

/**
 * RFC 7030 §3.5: when the connection gives a tls-unique value (TLS 1.2), a challengePassword in
 * the CSR must be it, and a label requiring the link must find it there.
 */
function checkPopLink(csr: EstCsr, id: EstIdentity): void {
  if (id.tlsUnique === null) return;
  if (csr.challengePassword === null) {
    if (id.label.requirePopLinking) throw new KeylineError('POP_LINK_INVALID', 'csr: challengePassword must hold this connection\'s tls-unique value (RFC 7030 §3.5)');
    return;
  }
  if (csr.challengePassword !== id.tlsUnique) throw new KeylineError('POP_LINK_INVALID', 'csr: challengePassword is not this connection\'s tls-unique value (RFC 7030 §3.5)');
}

const issued = (deps: EstDeps, op: string) => deps.metrics.inc('keyline_certificates_issued_total', 'Device certificates issued.', { via: op });

/** POST /.well-known/est[/<label>]/simpleenroll */
export function simpleEnroll(deps: EstDeps) {
  return async (ctx: Context): Promise<void> => {
    const id = estIdentityOf(ctx);
    if (id.kind === 'device') throw new KeylineError('FORBIDDEN', 'EST: a device certificate re-enrolls (simplereenroll); simpleenroll needs a station, a birth certificate or the label\'s credentials');
    const csr = readEstCsr(await readPkcs10(ctx));
    const serial = serialOfSubject(csr.subject);
    if (id.certifiedSerial !== undefined && id.certifiedSerial !== serial) {
      throw new KeylineError('SUBJECT_MISMATCH', `csr subject: serial ${serial}, but the birth certificate names ${id.certifiedSerial}`);
    }
    checkPopLink(csr, id);
    const { label } = id;
    if (label.manualApproval) {
      const { publicKey } = await parseCsr(csr.pem);
      const status = await deps.approvals.admit({ label: label.name, publicKey, serial, csrDer: csr.der, actor: id.actor });
      if (status === 'rejected') throw new KeylineError('ENROLLMENT_REJECTED', `EST: the enrollment of ${serial} under '${label.name}' was rejected by an operator`);
      if (status === 'pending') {
        // §4.2.3: 202 with Retry-After; the retry carries a new CSR for the same key.
        ctx.set('Retry-After', String(deps.retryAfterSeconds));
        sendText(ctx, 202, `PENDING: the enrollment of ${serial} under '${label.name}' waits for an operator (keyline est approve)`);
        return;
      }
    }
    // The key, by its SPKI's hash, is the idempotency key: a retry for the same key (a lost
    // answer, or after approval) gets the same certificate; another key is SERIAL_EXISTS.
    const idempotencyKey = `est:${createHash('sha256').update(csr.spki).digest('hex')}`;
    const r = await deps.provisioning.issueUnit({ serial, workOrder: label.workOrder, idempotencyKey, key: { csr: csr.pem } }, id.actor);
    if (!r.replayed) issued(deps, 'est');
    deps.log.info({ serial, label: label.name, actor: id.actor, auth: id.kind, certificateSerial: r.certificateSerial, replayed: r.replayed }, 'est enrolled');
    sendDer(ctx, EST_TYPES.enrolled, certsOnly([r.certificateDer]), label.base64LineLength);
  };
}

/** POST /.well-known/est[/<label>]/simplereenroll */
export function simpleReenroll(deps: EstDeps) {
  return async (ctx: Context): Promise<void> => {
    const id = estIdentityOf(ctx);
    if (id.kind !== 'device' || !id.certificate || !id.certifiedSerial) {
      throw new KeylineError('FORBIDDEN', 'EST: simplereenroll authenticates with the certificate being renewed (a device certificate of this PKI)');
    }
    const csr = readEstCsr(await readPkcs10(ctx));
    // §4.2.2: the Subject of the request is the Subject of the certificate being renewed.
    if (!sameName(csr.subject, certificateSubject(id.certificate.der))) {
      throw new KeylineError('SUBJECT_MISMATCH', 'csr subject: a re-enrollment repeats the subject of the current certificate (RFC 7030 §4.2.2)');
    }
    checkPopLink(csr, id);
    const { label } = id;
    const r = await deps.provisioning.reissueUnit({
      serial: id.certifiedSerial, csr: csr.pem, presentedCertificateSerial: id.certificate.serialHex, workOrder: label.workOrder,
      allowKeyReuse: label.allowKeyReuse, revokeSuperseded: label.revokeSuperseded,
    }, id.actor);
    if (!r.replayed) issued(deps, 'est-reenroll');
    deps.log.info({ serial: r.serial, label: label.name, certificateSerial: r.certificateSerial, superseded: r.supersededCertificateSerial, replayed: r.replayed }, 'est re-enrolled');
    sendDer(ctx, EST_TYPES.enrolled, certsOnly([r.certificateDer]), label.base64LineLength);
  };
}
