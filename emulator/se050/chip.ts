/**
 * The SE050 model behind an ApduPort: a C-APDU in, an R-APDU with a status word out, never a
 * throw. Parses the ISO 7816-4 case, routes SELECT and the applet's commands, applies faults and
 * the timing model. A handler exception (a model bug, never a chip behaviour) answers 6F00 and is
 * counted in internalErrors, which tests and the fuzz target require to stay 0.
 */
import { randomBytes } from 'node:crypto';
import { buildResponseApdu, parseCommandApdu, type CommandApdu } from '../../common/se05x/apdu.js';
import { CLA, Ins, maxBody } from '../../common/se05x/applet-constants.js';
import { Sw } from '../../common/se05x/status-words.js';
import { parseTlvs } from '../../common/se05x/tlv.js';
import type { ApduPort } from '../apdu-port.js';
import type { Answer, AppletContext } from './commands/context.js';
import { route } from './commands/index.js';
import { select } from './commands/select.js';
import { Se050FaultInjector, type Se050FaultOptions } from './faults.js';
import type { Se050State } from './state.js';
import { se050ExecMs } from './timing.js';

/** Options of one SE050 model. */
export interface Se050ChipOptions {
  /** Report the timing model's execution time as execMs (default false: 0). */
  timing?: boolean;
  faults?: Se050FaultOptions;
  /** Clock in ms (the timestamp's 100 ms ticks); injectable for tests. */
  now?: () => number;
  /** RNG for GetRandom; injectable for tests. */
  random?: (n: number) => Uint8Array;
}

/** ATR of a T=1 card, as an SE050 reports it over a reader (historical bytes omitted). */
const ATR = Uint8Array.of(0x3b, 0x80, 0x80, 0x01, 0x01);

/** One emulated SE050. */
export class Se050Chip implements ApduPort {
  readonly state: Se050State;
  readonly #timing: boolean;
  readonly #faults: Se050FaultInjector;
  readonly #now: () => number;
  readonly #random: (n: number) => Uint8Array;
  /** Handler exceptions turned into 6F00; tests assert it stays 0. */
  internalErrors = 0;

  constructor(state: Se050State, opts: Se050ChipOptions = {}) {
    this.state = state;
    this.#timing = opts.timing ?? false;
    this.#faults = new Se050FaultInjector(opts.faults);
    this.#now = opts.now ?? Date.now;
    this.#random = opts.random ?? ((n) => new Uint8Array(randomBytes(n)));
  }

  get uid(): Uint8Array {
    return this.state.uid;
  }

  atr(): Uint8Array {
    return ATR.slice();
  }

  reset(): void {
    this.state.reset();
  }

  transmit(capdu: Uint8Array): { response: Uint8Array | null; execMs: number } {
    const fault = this.#faults.next();
    if (fault === 'no-response') return { response: null, execMs: 0 };
    const parsed = parseCommandApdu(capdu);
    if (!parsed.ok) return { response: buildResponseApdu(new Uint8Array(0), parsed.sw), execMs: 0 };
    const apdu = parsed.apdu;
    const execMs = this.#timing ? se050ExecMs(apdu) : 0;
    if (fault === 'error') return { response: buildResponseApdu(new Uint8Array(0), Sw.UNKNOWN), execMs };
    const a = this.#run(apdu);
    const response = buildResponseApdu(a.data, a.sw);
    if (fault === 'corrupt' && a.data.length > 0) response[Math.floor(a.data.length / 2)]! ^= 0x5a;
    return { response, execMs };
  }

  #run(apdu: CommandApdu): Answer {
    const ctx = (tlvs: AppletContext['tlvs']): AppletContext => ({ state: this.state, apdu, tlvs, now: this.#now, random: this.#random });
    try {
      if (apdu.cla === 0x00 && apdu.ins === Ins.SELECT) return select(ctx([]));
      // Until the applet is selected the card manager answers, and it knows no class 80 command.
      if (!this.state.selected) return { data: new Uint8Array(0), sw: Sw.CLA_NOT_SUPPORTED };
      if (apdu.cla !== CLA) return { data: new Uint8Array(0), sw: Sw.CLA_NOT_SUPPORTED };
      if (apdu.data.length > maxBody(this.state.applet)) return { data: new Uint8Array(0), sw: Sw.WRONG_LENGTH };
      const handler = route(apdu);
      if (typeof handler === 'number') return { data: new Uint8Array(0), sw: handler };
      const tlvs = parseTlvs(apdu.data);
      if (!tlvs) return { data: new Uint8Array(0), sw: Sw.WRONG_DATA };
      return handler(ctx(tlvs));
    } catch {
      this.internalErrors++;
      return { data: new Uint8Array(0), sw: Sw.UNKNOWN };
    }
  }
}

/**
 * True when a C-APDU may have changed the chip's persistent state (so a server saves the image
 * before replying): any Write, a delete (object or curve), and SELECT (the timestamp's persistent half).
 */
export function se050ChangesState(capdu: Uint8Array): boolean {
  const ins = capdu[1] ?? 0;
  const p2 = capdu[3] ?? 0;
  if (capdu[0] === 0x00 && ins === Ins.SELECT) return true;
  const cls = ins & 0x1f;
  return cls === Ins.WRITE || (cls === Ins.MGMT && p2 === 0x28);
}
