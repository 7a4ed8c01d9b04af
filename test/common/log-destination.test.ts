/**
 * The process logger's stderr (common/log-destination.ts), from outside: a child process logs
 * through createLogger() and exits; its stderr is a pipe the test reads, or one whose reading
 * end the test closed. A closed pipe used to keep the child spinning in pino's exit flush forever.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import t from 'tap';

const LOG_MODULE = fileURLToPath(new URL('../../common/log.ts', import.meta.url));
const EXIT_WITHIN_MS = 5000;

interface Outcome { code: number | null; signal: string | null; ms: number; lines: string[] }

/**
 * Runs `body` (module code with `log` = createLogger()) in a child; `reader` 'closed' closes the
 * stderr pipe's reading end at once, 'slow' starts reading only after 500 ms. Kills a child that
 * has not exited within EXIT_WITHIN_MS (then `code` is null).
 */
function runChild(body: string, reader: 'read' | 'closed' | 'slow'): Promise<Outcome> {
  const src = `import { createLogger } from ${JSON.stringify(LOG_MODULE)};\nconst log = createLogger({ level: 'debug' });\n${body}`;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', src], { stdio: ['ignore', 'ignore', 'pipe'] });
  let text = '';
  if (reader === 'closed') child.stderr.destroy();
  else {
    child.stderr.on('data', (d) => (text += d));
    if (reader === 'slow') {
      child.stderr.pause();
      setTimeout(() => child.stderr.resume(), 500);
    }
  }
  const started = Date.now();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), EXIT_WITHIN_MS);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, ms: Date.now() - started, lines: text.split('\n').filter(Boolean) });
    });
  });
}

/** Logs `n` lines, `perTurn` per loop turn, then ends with `end`. */
const logLines = (n: number, perTurn: number, end: string) => `
let i = 0;
const turn = () => {
  for (let j = 0; j < ${perTurn} && i < ${n}; j++, i++) log.info({ i, pad: 'x'.repeat(200) }, 'line');
  if (i < ${n}) return setImmediate(turn);
  ${end}
};
setTimeout(turn, 300);
`;

t.test('a closed log pipe does not keep the process from exiting', async (t) => {
  for (const [name, end] of [['process.exit(0)', 'process.exit(0);'], ['process.exitCode = 3', 'process.exitCode = 3;'], ['process.exit(1) mid-burst', 'log.info("last"); process.exit(1);']] as const) {
    // 3 lines in the turn that exits: the first write to the closed pipe is the exit flush's (the case that hung).
    for (const [n, perTurn] of [[3, 3], [2000, 500]] as const) {
      const out = await runChild(logLines(n, perTurn, end), 'closed');
      const want = name.includes('exit(1)') ? 1 : name.includes('= 3') ? 3 : 0;
      t.same({ code: out.code, signal: out.signal }, { code: want, signal: null }, `${name} after ${n} lines, ${perTurn} per turn: exits with its own code (${out.ms} ms)`);
    }
  }
});

t.test('a pipe still read gets every line, the last ones before exit included, in order', async (t) => {
  for (const [name, end] of [['process.exit(0)', 'log.warn("last"); process.exit(0);'], ['natural exit', 'log.warn("last");'], ['uncaught exception', 'log.warn("last"); throw new Error("boom");']] as const) {
    const out = await runChild(logLines(3000, 400, end), 'read');
    const lines = out.lines.filter((l) => l.startsWith('{'));
    t.equal(out.code, name === 'uncaught exception' ? 1 : 0, `${name}: exit code`);
    t.equal(lines.length, 3001, `${name}: all 3000 lines and the last one`);
    t.same(lines.slice(0, 3000).map((l) => (JSON.parse(l) as { i: number }).i), Array.from({ length: 3000 }, (_, i) => i), `${name}: in order, none torn`);
    t.match(lines.at(-1), /"msg":"last"/, `${name}: the line logged just before exit is there`);
  }
});

t.test('a reader that falls behind (full pipe) still gets every line', async (t) => {
  // ~2.8 MB in 20 loop turns against a pipe buffer of 64 KB that nobody reads for 500 ms.
  const out = await runChild(`process.stderr;\n${logLines(10000, 500, 'log.warn("last"); process.exit(0);')}`, 'slow');
  t.equal(out.code, 0);
  t.equal(out.lines.length, 10001, 'every line arrived');
  t.match(out.lines.at(-1), /"msg":"last"/);
});
