/**
 * Every fuzz target, in the order `npm run fuzz` runs them (cheap, synchronous parsers first).
 */
import type { FuzzTarget } from '../harness.js';
import { chipTarget } from './chip.js';
import { cloudWireTarget } from './cloud-wire.js';
import { configTarget } from './config.js';
import { csrTarget } from './csr.js';
import { enrollTarget } from './enroll.js';
import { estTarget } from './est.js';
import { jsonStrictTarget } from './json-strict.js';
import { kitTarget } from './kit.js';
import { ocspTarget } from './ocsp.js';
import { ocspHttpTarget } from './ocsp-http.js';
import { publicKeyTarget } from './public-key.js';
import { se050Target } from './se050.js';
import { seHostTarget } from './se-host.js';
import { stationApiTarget } from './station-api.js';
import { stationHttpTarget } from './station-http.js';

/** The targets by name. */
export const TARGETS: readonly FuzzTarget<never>[] = [
  jsonStrictTarget,
  publicKeyTarget,
  csrTarget,
  estTarget,
  cloudWireTarget,
  ocspTarget,
  ocspHttpTarget,
  chipTarget,
  kitTarget,
  seHostTarget,
  se050Target,
  configTarget,
  stationApiTarget,
  stationHttpTarget,
  enrollTarget,
] as FuzzTarget<never>[];
