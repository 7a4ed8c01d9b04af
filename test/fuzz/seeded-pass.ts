/**
 * The short seeded pass every fuzz target gets under `npm test`: the same property as
 * `npm run fuzz`, a fixed seed and a few hundred to a few thousand inputs, so CI keeps each
 * target honest in a few seconds and a failure prints the replay command.
 */
import type { Test } from 'tap';
import { runTarget, type FuzzTarget } from '../../fuzz/harness.js';

/** Runs `target` for `runs` inputs from `seed` and asserts nothing was found. */
export async function seededPass<T>(t: Test, target: FuzzTarget<T>, runs: number, seed: number): Promise<void> {
  const r = await runTarget(target, { runs, seed });
  const f = r.failure;
  t.notOk(f, f ? `${f.kind}: ${f.message}\n  input: ${f.input ?? '-'}\n  replay: npm run fuzz -- --target ${target.name} --seed ${f.seed}${f.path ? ` --path ${f.path}` : ''}` : `${target.name}: ${runs} inputs, nothing found`);
  t.equal(r.runs, runs, 'every input judged');
}
