/**
 * The server config the dev ceremony writes beside its PKI: paths relative to the out folder, the
 * line token by label and its PIN by file reference (never inline), the SQLite store. It goes
 * through the server's own schema, so a config the server would refuse is never written.
 */
import { writeFileSync } from 'node:fs';
import { configSchema } from '../config.js';
import type { DevCeremony } from './dev-ceremony.js';
import { LINE_TOKEN } from './dev-tokens.js';

/** The fleet provisioning template the dev config defines. */
export const DEV_FLEET_TEMPLATE = 'keyline-dev';
/** The DPS ID scope the dev config accepts. */
export const DEV_ID_SCOPE = '0ne0000DEV1';

/** Writes keyline.json and returns the parsed config. */
export async function writeDevConfig(c: DevCeremony, k: { issuingKeyRef: string; ocspKeyRef: string; stationId: string }): Promise<Record<string, unknown>> {
  const config = configSchema.parse({
    server: { port: 8443, publicPort: 8080, tlsCert: 'server.pem', tlsKey: 'server.key.pem' },
    hsm: { softhsmConf: 'tokens/softhsm2.conf', tokenLabel: LINE_TOKEN, pin: { file: 'tokens/line.pin' }, issuingKey: k.issuingKeyRef },
    ca: {
      rootCert: 'root-ca.pem', issuingCert: 'issuing-ca.pem', crlUrl: 'http://127.0.0.1:8080/crl/issuing.crl', ocspUrl: 'http://127.0.0.1:8080/ocsp',
      ocspResponderKey: k.ocspKeyRef, ocspResponderCert: 'ocsp-responder.pem', rootCrl: 'root-ca.crl',
      // SE050 key-origin evidence chains to the development manufacturer root (dev-se050-root.ts).
      manufacturerRoots: ['se050-manufacturer-root.pem'],
    },
    store: { url: 'sqlite:keyline.db' },
    station: { id: k.stationId, serverUrl: 'https://127.0.0.1:8443', cert: `${k.stationId}.pem`, key: `${k.stationId}.key.pem` },
    // The cloud device-provisioning endpoints (issue 16), on free ports printed by `keyline server`.
    awsFleet: { templates: { [DEV_FLEET_TEMPLATE]: { thingName: '{product}-{serial}' } } },
    dps: { idScope: DEV_ID_SCOPE, assignedHub: 'keyline-dev-hub.azure-devices.net' },
  });
  writeFileSync(c.path('keyline.json'), JSON.stringify(config, null, 2) + '\n');
  c.say(`config written: ${c.path('keyline.json')}`);
  c.say(`cloud device endpoints enabled: AWS Fleet Provisioning (template ${DEV_FLEET_TEMPLATE}) and Azure DPS (ID scope ${DEV_ID_SCOPE}); keyline server prints their aws-fleet and dps URLs`);
  await c.record('ceremony.config.write', c.path('keyline.json'));
  return config;
}
