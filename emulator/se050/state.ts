/**
 * Everything one emulated SE050 remembers: its objects (insertion order, as ReadIDList lists
 * them), the curves created, the persistent half of the timestamp, and, volatile, whether the
 * applet is selected and when the session began.
 */
import type { AppletVersionName } from '../../common/se05x/applet-constants.js';
import { objectFootprint, type SecureObject } from './objects.js';

/** Persistent memory the model offers for objects (an SE050 has about 50 kB of user NVM). */
export const PERSISTENT_CAPACITY = 50_000;

/** One curve's state: created, and which parameters (CurveParam bits) are set. */
export interface CurveState {
  params: number;
}

/** The state of one chip. */
export class Se050State {
  readonly applet: AppletVersionName;
  readonly uid: Uint8Array;
  readonly objects = new Map<number, SecureObject>();
  readonly curves = new Map<number, CurveState>();
  /** The 4 persistent timestamp bytes: +1 at every session open (SELECT). */
  timestampHigh = 0;

  // volatile
  selected = false;
  sessionStart = 0;

  constructor(applet: AppletVersionName, uid: Uint8Array) {
    this.applet = applet;
    this.uid = uid;
  }

  /** Persistent bytes in use by objects. */
  used(): number {
    let n = 0;
    for (const o of this.objects.values()) if (!o.transient) n += objectFootprint(o);
    return n;
  }

  /** Bytes still free for persistent objects. */
  free(): number {
    return Math.max(0, PERSISTENT_CAPACITY - this.used());
  }

  /** True when curve `id` is created with every parameter set (A, B, G, N, prime: 0x1F). */
  curveReady(id: number): boolean {
    return this.curves.get(id)?.params === 0x1f;
  }

  /** Drops transient objects and the selection (power cycle / deselect). */
  reset(): void {
    for (const [id, o] of this.objects) if (o.transient) this.objects.delete(id);
    this.selected = false;
  }
}
