/**
 * Argument parsing shared by every subcommand: node's parseArgs plus a uniform --help and
 * readable errors, so each part's cli.ts is only its options and its action.
 */
import { parseArgs, type ParseArgsConfig } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** What a subcommand declares. */
export interface CommandSpec<O extends Options> {
  /** The usage text printed by --help (first line `Usage: keyline ...`). */
  usage: string;
  options: O;
  allowPositionals?: boolean;
}

/** Parsed arguments, or `null` when --help was printed. Throws a UsageError on bad flags. */
export function parseCommand<O extends Options>(argv: string[], spec: CommandSpec<O>) {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(spec.usage.trimEnd() + '\n');
    return null;
  }
  try {
    return parseArgs({ args: argv, options: spec.options, allowPositionals: spec.allowPositionals ?? false, strict: true });
  } catch (err) {
    throw new UsageError(`${(err as Error).message}\n\n${spec.usage.trimEnd()}`);
  }
}

/** A command-line mistake: printed without a stack, exit code 2. */
export class UsageError extends Error {}

/** Parses an integer flag with bounds, naming the flag in the error. */
export function intFlag(name: string, value: string | undefined, dflt: number, min = 0, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return dflt;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new UsageError(`--${name} must be an integer from ${min} to ${max}, got '${value}'`);
  return n;
}

/**
 * Runs a command body and turns errors into an exit code: usage errors print plainly (2),
 * Keyline errors print their code and message (1), anything else its stack (1).
 */
export async function runCli(body: () => Promise<number | void>): Promise<number> {
  try {
    return (await body()) ?? 0;
  } catch (err) {
    if (err instanceof UsageError) {
      process.stderr.write(`keyline: ${err.message}\n`);
      return 2;
    }
    const e = err as { code?: string; message?: string; stack?: string };
    if (typeof e.code === 'string' && /^[A-Z_]+$/.test(e.code)) {
      process.stderr.write(`keyline: ${e.code}: ${e.message}\n`);
      return 1;
    }
    process.stderr.write(`keyline: ${e.stack ?? String(err)}\n`);
    return 1;
  }
}
