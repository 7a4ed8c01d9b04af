/**
 * SELECT `00 A4 04 00 10 <AID> [00]` (ISO 7816-4 §11.2.2; reference/se050.md §4): selecting the
 * IoT applet opens a session (the persistent timestamp half moves on, the 100 ms counter
 * restarts) and answers the 7 version bytes; another AID is 6A82, as the card manager answers.
 */
import { APPLET_AID, AppletVersion } from '../../../common/se05x/applet-constants.js';
import { Sw } from '../../../common/se05x/status-words.js';
import { ok, sw, type Handler } from './context.js';

/** SELECT by AID. */
export const select: Handler = (ctx) => {
  const { apdu, state } = ctx;
  if (apdu.p1 !== 0x04 || (apdu.p2 & ~0x0c) !== 0) return sw(Sw.WRONG_P1P2);
  // A prefix of the AID selects it too (ISO 7816-4 partial DF name), as JavaCard card managers allow.
  const aid = apdu.data;
  const matches = aid.length >= 5 && aid.length <= APPLET_AID.length && aid.every((b, i) => b === APPLET_AID[i]);
  if (!matches) {
    state.selected = false;
    return sw(Sw.FILE_NOT_FOUND);
  }
  state.reset();
  state.selected = true;
  state.timestampHigh = (state.timestampHigh + 1) >>> 0;
  state.sessionStart = ctx.now();
  return ok(AppletVersion[state.applet]);
};
