/**
 * Target `config`: server/config.ts `loadConfig(file, env)` on hostile keyline.json files (a
 * valid config with members replaced, removed, added or repeated; text edits; any JSON value; raw
 * bytes) and hostile KEYLINE_* overrides, with the PIN given by environment variable or file.
 * The answer is a frozen Config with the PIN resolved, or CONFIG_INVALID with a readable
 * message; no message ever carries the PIN, even when the file itself holds it by mistake.
 */
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { loadConfig } from '../../server/config.js';
import { clip, ensure, expectTypedError, type FuzzTarget } from '../harness.js';
import { hostileJsonText, hostileValue } from '../json-text.js';
import { mutatedBytes } from '../mutate-bytes.js';

/** The PIN: in the environment, in the PIN file, and sometimes written into the config by mistake. */
const PIN = 'Pin-7f3a9c2e51';

const PIN_REFS = [{ env: 'KEYLINE_FUZZ_PIN' }, { env: 'KEYLINE_FUZZ_UNSET' }, { file: 'pin.txt' }, { file: 'missing-pin.txt' }, { file: 'pin-dir' }, PIN, `${PIN}\n`];

/** A valid keyline.json, in a few shapes (minimal, full, with registries and groups). */
function templates(): Record<string, unknown>[] {
  const hsm = { tokenLabel: 'keyline-line', pin: { env: 'KEYLINE_FUZZ_PIN' }, issuingKey: 'pkcs11:token=keyline-line;object=issuing-ca' };
  const ca = { crlUrl: 'http://127.0.0.1:8080/crl/issuing.crl', ocspUrl: 'http://127.0.0.1:8080/ocsp' };
  return [
    { hsm, ca },
    {
      server: { host: '0.0.0.0', port: 8443, publicPort: 8080, tlsCert: 'server.pem', tlsKey: 'server.key.pem', bodyLimitBytes: 65536 },
      hsm: { ...hsm, pin: { file: 'pin.txt' }, sessions: 2 },
      ca: { ...ca, deviceValidityYears: 0, crlValidityHours: 24, ocspValidityMinutes: 60 },
      store: { url: 'sqlite:keyline.db' }, log: { level: 'info' },
      enroll: { enabled: true, broker: 'embedded', port: 0, groups: [{ match: { product: 'Sensor' }, group: 'sensors', config: { telemetryIntervalS: 30 } }], rateLimitPerMinute: 30 },
      outbox: { leaseSeconds: 60, maxAttempts: 8 },
      station: { id: 'station-01', serverUrl: 'https://127.0.0.1:8443', cert: 'station.pem', key: 'station.key.pem' },
    },
    { hsm, ca, registries: { 'aws-prod': { type: 'aws', region: 'eu-west-1' } }, enroll: { broker: 'mqtts://broker.local:8883', protocolVersion: 5 } },
  ];
}

const OVERRIDES = ['KEYLINE_SERVER_HOST', 'KEYLINE_SERVER_PORT', 'KEYLINE_SERVER_PUBLIC_PORT', 'KEYLINE_STORE_URL', 'KEYLINE_LOG_LEVEL', 'KEYLINE_HSM_MODULE', 'KEYLINE_HSM_SESSIONS', 'KEYLINE_ENROLL_BROKER', 'KEYLINE_ENROLL_PORT'];

interface Input {
  file: string | Uint8Array;
  env: Record<string, string>;
}

/** The target. */
export const configTarget: FuzzTarget<Input> = {
  name: 'config',
  summary: 'loadConfig(keyline.json, env): a frozen Config with the PIN resolved, or CONFIG_INVALID with a readable message that never holds the PIN',
  heapBoundBytes: 16 * 1024 * 1024,
  async setup() {
    // One file rewritten per input: on tmpfs that costs ~20 µs, on a disk-backed /tmp ~0.4 ms.
    const dir = mkdtempSync(join(existsSync('/dev/shm') ? '/dev/shm' : tmpdir(), 'keyline-fuzz-config-'));
    writeFileSync(join(dir, 'pin.txt'), `${PIN}\n`);
    mkdirSync(join(dir, 'pin-dir'));
    const file = join(dir, 'keyline.json');
    const docs = templates();
    // Some documents carry a PIN reference of each kind, including the PIN itself in clear.
    const withPins = PIN_REFS.map((pin) => ({ ...docs[0]!, hsm: { ...(docs[0]!.hsm as object), pin } }));
    const text = hostileJsonText([...docs, ...withPins]);
    const env = fc.dictionary(fc.constantFrom(...OVERRIDES), fc.oneof(fc.constantFrom('', '0', '8443', '-1', '65536', 'abc', '1e400', 'NaN', ' 1', 'silent', 'loud', 'embedded', 'mqtt://x'), hostileValue.map((v) => (typeof v === 'string' ? v : JSON.stringify(v) ?? ''))), { maxKeys: 3 });
    return {
      arbitrary: fc.record({
        file: fc.oneof(
          { weight: 12, arbitrary: text },
          // A PIN left unquoted in the file: JSON.parse's message quotes the text around the error.
          { weight: 1, arbitrary: fc.constantFrom(`{"hsm":{"pin":${PIN}}}`, `${PIN}`, `{"hsm":{"tokenLabel":"t","pin":"${PIN}" x`, `{"a":1,"b":[${PIN}]}`) },
          { weight: 1, arbitrary: mutatedBytes([Buffer.from(JSON.stringify(docs[1]))]) },
        ),
        env,
      }),
      check(input) {
        writeFileSync(file, input.file);
        const env = { KEYLINE_FUZZ_PIN: PIN, ...input.env };
        let loaded: ReturnType<typeof loadConfig>;
        try {
          loaded = loadConfig(file, env);
        } catch (err) {
          expectTypedError(err, 'loadConfig', ['CONFIG_INVALID']);
          ensure(!err.message.includes(PIN.slice(0, 8)), () => `CONFIG_INVALID message carries the PIN: ${clip(err.message, 300)}`);
          ensure(err.message.length > 0 && err.message.length < 20_000, () => `CONFIG_INVALID message of ${err.message.length} characters`);
          return;
        }
        ensure(loaded.secrets.hsmPin === PIN, () => `PIN resolved to ${JSON.stringify(loaded.secrets.hsmPin)}`);
        ensure(Object.isFrozen(loaded.config), 'config is not frozen');
        ensure(!JSON.stringify(loaded.config).includes(PIN), 'the PIN is in the Config object that gets logged');
      },
      close() {
        rmSync(dir, { recursive: true, force: true });
      },
    };
  },
};
