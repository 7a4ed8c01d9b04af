/**
 * The secure objects the model keeps (SE05x IoT applet object classes; reference/se050.md §4-§5):
 * EC keys (pair, public or private part, P-256), binary files, monotonic counters. Every object
 * carries the policy it was created with (immutable), its origin and whether it is transient.
 */
import { ObjectType, type AppletVersionName } from '../../common/se05x/applet-constants.js';
import type { PolicyEntry } from '../../common/se05x/policy.js';

/** What every object has. */
interface ObjectBase {
  id: number;
  /** The creation policy; null = none given (the applet's default: every rule for every session). */
  policy: PolicyEntry[] | null;
  /** Origin: 01 external, 02 internal (generated inside), 03 NXP-provisioned. */
  origin: number;
  /** Created with the TRANSIENT INS flag (lost on deselect / reset in a real part; kept here per session). */
  transient: boolean;
}

/** An EC key on P-256. `pub` is the uncompressed point 04‖X‖Y (65 bytes), known for every part. */
export interface EcKeyObject extends ObjectBase {
  kind: 'ec';
  part: 'pair' | 'public' | 'private';
  curve: number;
  /** The private scalar (32 bytes) of a pair or private key; never leaves the model except in its image. */
  d?: Uint8Array;
  pub: Uint8Array;
}

/** A binary file of a fixed size set at creation. */
export interface BinaryObject extends ObjectBase {
  kind: 'binary';
  data: Uint8Array;
}

/** A monotonic counter of 1-8 bytes. */
export interface CounterObject extends ObjectBase {
  kind: 'counter';
  size: number;
  value: bigint;
}

/** Any secure object. */
export type SecureObject = EcKeyObject | BinaryObject | CounterObject;

/** The type byte ReadType and the attested attributes report (7.x names P-256 keys by curve). */
export function objectTypeOf(o: SecureObject, applet: AppletVersionName): number {
  if (o.kind === 'binary') return ObjectType.BINARY_FILE;
  if (o.kind === 'counter') return ObjectType.COUNTER;
  const v7 = applet === '7.2';
  if (o.part === 'pair') return v7 ? ObjectType.EC_KEY_PAIR_P256_7X : ObjectType.EC_KEY_PAIR;
  if (o.part === 'private') return v7 ? ObjectType.EC_PRIV_KEY_P256_7X : ObjectType.EC_PRIV_KEY;
  return v7 ? ObjectType.EC_PUB_KEY_P256_7X : ObjectType.EC_PUB_KEY;
}

/** The size ReadSize answers and an attested read reports: key bytes (32 for P-256), file or counter bytes. */
export function objectSize(o: SecureObject): number {
  if (o.kind === 'binary') return o.data.length;
  if (o.kind === 'counter') return o.size;
  return 32;
}

/** Bytes of persistent memory an object costs in the model's accounting (value plus a fixed header). */
export function objectFootprint(o: SecureObject): number {
  const header = 48;
  if (o.kind === 'binary') return header + o.data.length;
  if (o.kind === 'counter') return header + o.size;
  return header + 65 + (o.d ? 32 : 0);
}
