/**
 * The process logger: pino, one JSON line per event, with secrets redacted by path.
 */
import { pino, type Logger } from 'pino';
import { stderrDestination } from './log-destination.js';

/** Field paths that must never reach a log line. */
export const REDACT_PATHS = [
  'pin', '*.pin', 'password', '*.password', 'privateKey', '*.privateKey', 'token', '*.token',
  'authorization', '*.authorization', 'req.headers.authorization', 'secret', '*.secret',
];

/**
 * Creates the root logger; `level: 'silent'` in tests. Writes to stderr so stdout stays for
 * command output, through the process's one stderr destination (log-destination.ts: every line
 * reaches a reader, even at exit, and a closed pipe never keeps the process from exiting).
 */
export function createLogger(opts: { level?: string; name?: string } = {}): Logger {
  return pino(
    { name: opts.name ?? 'keyline', level: opts.level ?? 'info', redact: { paths: REDACT_PATHS, censor: '[redacted]' } },
    stderrDestination(),
  );
}

/** A logger that drops everything; the default for library code given no logger. */
export const silentLogger: Logger = pino({ level: 'silent' });

export type { Logger };
