/**
 * The fuzzing harness shared by `npm run fuzz` (fuzz/run.ts) and the short seeded passes under
 * test/fuzz/: a target builds its environment once and returns a fast-check arbitrary plus a
 * check for one input; runTarget drives it and adds what every target asserts besides its own
 * check: no unhandled rejection or uncaught exception, heap growth within the target's bound,
 * and the target's whole-run invariants (nothing half-written in a store).
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { ERROR_TABLE, KeylineError, type ErrorCode } from '../common/errors.js';

/** One built target: how to generate an input, how to judge one, and what must hold afterwards. */
export interface FuzzProperty<T> {
  arbitrary: fc.Arbitrary<T>;
  /**
   * Judges one input; throws a FuzzFinding (or anything) when the answer is not acceptable.
   * May return a label of the outcome (`issueUnit ok`, `MALFORMED_DER`) for --stats.
   */
  check(input: T): Outcome | Promise<Outcome>;
  /** True when check never returns a promise (a synchronous property runs several times faster). */
  sync?: boolean;
  /** Whole-run invariants, checked once after the last input (store consistency, counters). */
  afterAll?(): void | Promise<void>;
  /** Releases what setup built (stores, servers, temporary folders). */
  close(): void | Promise<void>;
}

/** A fuzz target: a name for --target and a builder of its property. */
export interface FuzzTarget<T = unknown> {
  name: string;
  /** One line for --help: the entry point driven and what is asserted. */
  summary: string;
  /** Largest heap growth accepted between the end of warm-up and the end of the run (bytes). */
  heapBoundBytes: number;
  setup(): Promise<FuzzProperty<T>>;
}

/**
 * A check's optional outcome label. A label starting `KNOWN: ` marks a finding already reported to
 * the owner of code this work may not change; the runner counts and prints those apart so they
 * stay visible without stopping the run at the first one.
 */
export type Outcome = string | void;

/** The label prefix of a reported finding (see Outcome). */
export const KNOWN = 'KNOWN: ';

/** What the check of one input found wrong; the message names the rule broken. */
export class FuzzFinding extends Error {
  override name = 'FuzzFinding';
}

/** How one target run went. */
export interface FuzzResult {
  target: string;
  /** Inputs judged (fast-check's run count). */
  runs: number;
  seconds: number;
  perSecond: number;
  /** Heap growth from the end of warm-up to the end of the run, after a full GC (bytes). */
  heapGrowthBytes: number;
  heapBoundBytes: number;
  interrupted: boolean;
  /** How many inputs ended in each outcome label the check returned. */
  outcomes: Record<string, number>;
  failure?: {
    kind: 'setup' | 'property' | 'unhandled' | 'heap' | 'invariant';
    message: string;
    seed: number;
    /** fast-check's counterexample path, for --seed S --path P replay (property failures only). */
    path?: string;
    /** The (shrunk) input, as fast-check prints it, clipped. */
    input?: string;
  };
}

/** Options of one run. */
export interface RunOptions {
  runs: number;
  /** Wall-clock cap (the run stops early, successfully, when reached). */
  seconds?: number;
  seed: number;
  path?: string;
  /** Inputs run before the heap baseline is taken (caches and JIT settle); default min(2,000, runs/10). */
  warmup?: number;
}

/** A full garbage collection: global.gc under --expose-gc, otherwise enabled on the fly. */
export function fullGc(): void {
  const g = globalThis as { gc?: () => void };
  if (!g.gc) {
    setFlagsFromString('--expose-gc');
    g.gc = runInNewContext('gc') as () => void;
  }
  g.gc();
}

function heapUsed(): number {
  fullGc();
  fullGc();
  return process.memoryUsage().heapUsed;
}

/** Runs one target: setup, the property, the invariants, the heap bound; never throws for a finding. */
export async function runTarget<T>(target: FuzzTarget<T>, o: RunOptions): Promise<FuzzResult> {
  const problems: string[] = [];
  const onRejection = (reason: unknown) => problems.push(`unhandled rejection: ${describe(reason)}`);
  const onException = (err: unknown) => problems.push(`uncaught exception: ${describe(err)}`);
  process.on('unhandledRejection', onRejection);
  process.on('uncaughtException', onException);
  let prop: FuzzProperty<T>;
  try {
    prop = await target.setup();
  } catch (err) {
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
    return {
      target: target.name, runs: 0, seconds: 0, perSecond: 0, heapGrowthBytes: 0, heapBoundBytes: target.heapBoundBytes, interrupted: false, outcomes: {},
      failure: { kind: 'setup', message: describe(err), seed: o.seed },
    };
  }
  const warmup = o.warmup ?? Math.min(2000, Math.floor(o.runs / 10));
  let calls = 0;
  const outcomes = new Map<string, number>();
  const tally = (o: Outcome) => {
    if (o) outcomes.set(o, (outcomes.get(o) ?? 0) + 1);
  };
  let baseline = warmup === 0 ? heapUsed() : 0;
  const count = () => {
    if (++calls === warmup) baseline = heapUsed();
  };
  // Node reports a rejection nobody handled once the microtask queue drains: yield a macrotask
  // turn every few inputs so it surfaces near the input that caused it, and fail that input.
  let seen = 0;
  const guard = () => {
    if (problems.length > seen) throw new FuzzFinding(problems[(seen = problems.length) - 1]);
  };
  const property = prop.sync
    ? fc.property(prop.arbitrary, (input) => {
      count();
      tally(prop.check(input) as Outcome);
      guard();
    })
    : fc.asyncProperty(prop.arbitrary, async (input) => {
      count();
      tally(await prop.check(input));
      if (calls % 32 === 0) await new Promise((r) => setImmediate(r));
      guard();
    });
  const started = performance.now();
  let result: FuzzResult;
  try {
    const details = await fc.check(property as fc.IAsyncProperty<[T]>, {
      numRuns: o.runs,
      seed: o.seed,
      ...(o.path ? { path: o.path } : {}),
      ...(o.seconds ? { plugins: [fc.interruptAfterTimeLimit(o.seconds * 1000)] } : {}),
    });
    const seconds = (performance.now() - started) / 1000;
    const runs = details.numRuns;
    result = {
      target: target.name, runs, seconds, perSecond: runs / seconds, heapGrowthBytes: 0, heapBoundBytes: target.heapBoundBytes, interrupted: details.interrupted,
      outcomes: Object.fromEntries([...outcomes].sort((a, b) => b[1] - a[1])),
    };
    if (details.failed && details.counterexample && details.counterexamplePath !== null) {
      const message = describe(details.errorInstance);
      result.failure = {
        kind: /^(unhandled|uncaught)/.test(message) ? 'unhandled' : 'property', message, seed: details.seed,
        path: details.counterexamplePath, input: clip(fc.stringify((details.counterexample as [T])[0]), 600),
      };
    } else if (details.failed) {
      result.failure = { kind: 'property', message: 'fast-check stopped without a counterexample (interrupted before any run?)', seed: details.seed };
    }
    if (!result.failure) {
      try {
        await prop.afterAll?.();
      } catch (err) {
        result.failure = { kind: 'invariant', message: describe(err), seed: o.seed };
      }
    }
    // Late rejections (a promise an input left behind) count too.
    await new Promise((r) => setImmediate(r));
    if (!result.failure && problems.length > seen) result.failure = { kind: 'unhandled', message: problems.join('; '), seed: o.seed };
    if (!result.failure && calls >= warmup) {
      result.heapGrowthBytes = heapUsed() - baseline;
      if (result.heapGrowthBytes > target.heapBoundBytes) {
        result.failure = { kind: 'heap', message: `heap grew ${mib(result.heapGrowthBytes)} over ${runs - warmup} inputs (bound ${mib(target.heapBoundBytes)})`, seed: o.seed };
      }
    }
  } finally {
    await prop.close();
    process.off('unhandledRejection', onRejection);
    process.off('uncaughtException', onException);
  }
  return result;
}

/**
 * Passes when `err` is a KeylineError whose code is in ERROR_TABLE (and in `allowed`, when given);
 * anything else that escaped an entry point is a finding.
 */
export function expectTypedError(err: unknown, where: string, allowed?: readonly ErrorCode[]): asserts err is KeylineError {
  if (!(err instanceof KeylineError) || !Object.hasOwn(ERROR_TABLE, err.code)) throw new FuzzFinding(`${where}: untyped error ${describe(err)}`, { cause: err });
  if (allowed && !allowed.includes(err.code)) throw new FuzzFinding(`${where}: unexpected code ${err.code} (${clip(err.message, 200)})`, { cause: err });
}

/** Throws a FuzzFinding unless `ok`. */
export function ensure(ok: unknown, message: string | (() => string)): asserts ok {
  if (!ok) throw new FuzzFinding(typeof message === 'string' ? message : message());
}

/** A one-line description of a thrown value (its class, code and message). */
export function describe(err: unknown): string {
  if (err instanceof KeylineError) return `${err.name} ${err.code}: ${clip(err.message, 300)}`;
  if (err instanceof FuzzFinding) return err.message;
  if (err instanceof Error) return `${err.name}: ${clip(err.message, 300)}${err.stack ? ` @ ${clip(err.stack.split('\n').slice(1, 4).join(' | ').replace(/\s+/g, ' '), 300)}` : ''}`;
  return clip(String(err), 300);
}

/** Cuts `s` to `n` characters. */
export function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n)}… (${s.length} chars)` : s;
}

function mib(n: number): string {
  return `${(n / 1048576).toFixed(1)} MiB`;
}
