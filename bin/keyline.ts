/**
 * The one `keyline` command: sends each subcommand to its part's cli.ts, loaded on demand so a
 * station never loads the server's PKCS#11 code and `--help` stays fast.
 */
import 'reflect-metadata';

const COMMANDS: Record<string, { summary: string; load: () => Promise<{ main(argv: string[]): Promise<number> }> }> = {
  ceremony: { summary: 'key ceremony: init --dev, root, csr, sign-csr, revoke-issuing, crl, verify-transcript, rehearse', load: () => import('../server/ceremony/cli.js') },
  server: { summary: 'run the factory server (station API, enrollment, workers)', load: () => import('../server/cli.js') },
  ca: { summary: 'issuing CAs: status, activate (rotation without restart), import-crl (the root CRL)', load: () => import('../server/ca-cli.js') },
  units: { summary: 'list and show provisioned units', load: () => import('../server/units-cli.js') },
  audit: { summary: 'verify the hash-chained audit log; import a ceremony transcript', load: () => import('../server/audit/cli.js') },
  est: { summary: 'EST enrollment: pending, approve, reject (manual approval), hash-password (Basic credentials)', load: () => import('../server/est/cli.js') },
  revoke: { summary: 'revoke units or certificates (CRL and OCSP follow)', load: () => import('../server/revoke-cli.js') },
  reconcile: { summary: 'units not preregistered, orphan registrations, parked jobs (exit 1 if any)', load: () => import('../server/registry/reconcile-cli.js') },
  registry: { summary: 'registries units are preregistered with (registry list | setup)', load: () => import('../server/registry/cli.js') },
  broker: { summary: 'Mosquitto ACL for the enrollment topics (broker acl)', load: () => import('../server/enroll/cli.js') },
  emulator: { summary: 'serve emulated ATECC608 chips over the kit protocol', load: () => import('../emulator/cli.js') },
  station: { summary: 'provision units on the line', load: () => import('../station/cli.js') },
  device: { summary: 'boot simulated devices in the field', load: () => import('../firmware-sim/cli.js') },
};

function usage(): string {
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(10)} ${c.summary}`);
  return ['Usage: keyline <command> [options]', '', 'Commands:', ...rows, '', 'Run `keyline <command> --help` for a command\'s options.'].join('\n');
}

async function run(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    process.stdout.write(usage() + '\n');
    return name ? 0 : 2;
  }
  const cmd = COMMANDS[name];
  if (!cmd) {
    process.stderr.write(`keyline: unknown command '${name}'\n\n${usage()}\n`);
    return 2;
  }
  let mod;
  try {
    mod = await cmd.load();
  } catch (err) {
    process.stderr.write(`keyline: cannot load '${name}': ${(err as Error).message}\n`);
    return 2;
  }
  return mod.main(rest);
}

// `keyline units list | head` closes the pipe early: that is the reader's choice, not an error.
process.stdout.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw err;
});
// A stderr whose reader went away (a killed parent, `2>&1 | head -1`) leaves no one to tell:
// what is written there is dropped, and the command ends with its own exit code, not a crash.
// (The logger's own stderr writes drop themselves: common/log-destination.ts.)
process.stderr.on('error', (err: NodeJS.ErrnoException) => {
  if (err.code !== 'EPIPE') throw err;
});

process.exitCode = await run(process.argv.slice(2));
