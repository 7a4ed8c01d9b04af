/**
 * Every fuzz target, in the order `npm run fuzz` runs them (cheap, synchronous parsers first).
 */
import type { FuzzTarget } from '../harness.js';
import { chipTarget } from './chip.js';
import { publicKeyTarget } from './public-key.js';

/** The targets by name. */
export const TARGETS: readonly FuzzTarget<never>[] = [
  publicKeyTarget,
  chipTarget,
] as FuzzTarget<never>[];
