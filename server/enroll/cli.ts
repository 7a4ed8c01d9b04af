/**
 * `keyline broker acl`: prints the Mosquitto ACL file that gives an external broker the embedded
 * broker's topic policy (server/enroll/acl.ts); `keyline broker conf`: its limits (mosquitto-conf.ts).
 */
import { readFileSync } from 'node:fs';
import { parseCommand, runCli, UsageError } from '../../common/cli.js';
import * as x509 from '../../common/x509.js';
import { fromPem } from '../../common/pem.js';
import { loadConfigWithoutSecrets } from '../config.js';
import { mosquittoAcl } from './acl.js';
import { mosquittoConfFragment } from './mosquitto-conf.js';

const USAGE = `Usage: keyline broker acl [--config FILE] [--service-user NAME] [--client-id-devices]
       keyline broker conf [--config FILE]

acl: prints a Mosquitto acl_file for the enrollment topics (keyline/v1/devices/{serial}/enroll/...).
Run Mosquitto with require_certificate true and use_identity_as_username true, so a device's
username is its certificate CN (its serial) and the service's is the CN of enroll.clientCert.

conf: prints the mosquitto.conf lines for the embedded broker's limits (no retained messages,
QoS at most 1, packet size, connections; enroll.limits of --config, else the defaults).

Options:
  --config FILE          server config; the service user is the CN of its enroll.clientCert
  --service-user NAME    the service's username (default: from --config, else keyline-enroll)
  --client-id-devices    also admit devices without a certificate, by client id (weaker; see the file)
  -h, --help             this text`;

/** Entry point of `keyline broker`. */
export async function main(argv: string[]): Promise<number> {
  return runCli(async () => {
    const args = parseCommand(argv, {
      usage: USAGE, allowPositionals: true,
      options: { config: { type: 'string' }, 'service-user': { type: 'string' }, 'client-id-devices': { type: 'boolean', default: false } },
    });
    if (!args) return 0;
    if (args.positionals[0] === 'conf') {
      process.stdout.write(mosquittoConfFragment(args.values.config ? loadConfigWithoutSecrets(args.values.config).enroll.limits : undefined));
      return 0;
    }
    if (args.positionals[0] !== 'acl') throw new UsageError(`expected 'acl' or 'conf', got '${args.positionals[0] ?? ''}'\n\n${USAGE}`);
    let serviceUser = args.values['service-user'];
    if (!serviceUser && args.values.config) {
      const certFile = loadConfigWithoutSecrets(args.values.config).enroll.clientCert;
      if (certFile) serviceUser = new x509.X509Certificate(fromPem(readFileSync(certFile, 'utf8')).slice().buffer as ArrayBuffer).subjectName.getField('CN')[0];
    }
    process.stdout.write(mosquittoAcl({ serviceUser: serviceUser ?? 'keyline-enroll', clientIdDevices: args.values['client-id-devices'] === true }));
    return 0;
  });
}
