/**
 * SHA (0x47): SHA-256 with start (0x00), update (0x01, 64 bytes), end (0x02, 0-63 bytes; param2 =
 * length), and HMAC-SHA256 with start (0x04, key from slot param2) and end (0x02 or 0x05).
 * The digest is returned and, unless bits 6-7 say output only (0xC0), also written to TempKey
 * (0x00) or the message-digest buffer (0x40) (cryptoauthlib calib_sha.c, SHA_MODE_*).
 * The context lives in volatile memory: sleep loses it. Context read/write (0x06/0x07) and
 * mode 0x03 are not modelled.
 */
import { createHash, createHmac } from 'node:crypto';
import { invalidTempKey } from '../state.js';
import { Status } from '../status.js';
import type { CommandHandler } from './context.js';

/** Handles SHA. */
export const sha: CommandHandler = ({ state }, cmd) => {
  const op = cmd.param1 & 0x07;
  const target = cmd.param1 & 0xc0;
  if ((cmd.param1 & 0x38) !== 0 || target === 0x80) return Status.PARSE_ERROR;
  switch (op) {
    case 0x00:
      if (cmd.data.length !== 0) return Status.PARSE_ERROR;
      state.sha = { hash: createHash('sha256'), hmac: false, buffered: 0 };
      return Status.SUCCESS;
    case 0x04: {
      if (cmd.data.length !== 0 || cmd.param2 > 15) return Status.PARSE_ERROR;
      const slot = cmd.param2;
      // A private key can never serve as an HMAC key.
      if (state.keyConfig(slot).private) return Status.EXECUTION_ERROR;
      state.sha = { hash: createHmac('sha256', state.slots[slot]!.subarray(0, 32)), hmac: true, buffered: 0 };
      return Status.SUCCESS;
    }
    case 0x01:
      if (cmd.data.length !== 64 || (cmd.param2 !== 0 && cmd.param2 !== 64)) return Status.PARSE_ERROR;
      if (!state.sha) return Status.EXECUTION_ERROR;
      state.sha.hash.update(cmd.data);
      return Status.SUCCESS;
    case 0x02:
    case 0x05: {
      if (cmd.data.length > 63 || cmd.param2 !== cmd.data.length) return Status.PARSE_ERROR;
      if (!state.sha || (op === 0x05 && !state.sha.hmac)) return Status.EXECUTION_ERROR;
      const digest = new Uint8Array(state.sha.hash.update(cmd.data).digest());
      state.sha = undefined;
      if (target === 0x00) {
        const tk = invalidTempKey();
        tk.value.set(digest);
        tk.valid = true;
        tk.sourceFlag = 1;
        state.tempKey = tk;
      } else if (target === 0x40) {
        state.msgDigestBuf = digest.slice();
      }
      return digest;
    }
    default:
      return Status.PARSE_ERROR;
  }
};
