/**
 * `keyline server`: runs the factory server until SIGINT/SIGTERM.
 */
import { parseCommand, runCli } from '../common/cli.js';
import { startServer } from './main.js';

const USAGE = `Usage: keyline server [--config FILE]

Runs the station API (HTTPS, mTLS) with the issuing CA key in the configured PKCS#11 token.
Prints one line per listener when ready, e.g. "api https://127.0.0.1:8443".

Options:
  --config FILE   keyline.json (default certs-dev/keyline.json, written by 'keyline ceremony init --dev')
  -h, --help      this text

Environment overrides: KEYLINE_SERVER_HOST, KEYLINE_SERVER_PORT (0 = any free port), KEYLINE_STORE_URL,
KEYLINE_LOG_LEVEL, KEYLINE_HSM_MODULE, KEYLINE_HSM_SESSIONS.`;

/** Entry point of `keyline server`. */
export async function main(argv: string[]): Promise<number> {
  return runCli(async () => {
    const args = parseCommand(argv, { usage: USAGE, options: { config: { type: 'string' } } });
    if (!args) return 0;
    const server = await startServer({ configFile: args.values.config ?? 'certs-dev/keyline.json' });
    process.stdout.write(`api ${server.apiUrl}\n`);
    await new Promise<void>((resolve) => {
      const stop = () => resolve();
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
    });
    await server.close();
    return 0;
  });
}
