/**
 * The opcode table: one handler per opcode of the 608 (cryptoauthlib calib_command.h). Anything
 * else answers parse error (0x03), as the chip does for an opcode it does not know.
 */
import { Opcode } from '../status.js';
import { aes } from './aes.js';
import { checkmac } from './checkmac.js';
import type { CommandHandler } from './context.js';
import { counter } from './counter.js';
import { derivekey } from './derivekey.js';
import { ecdh } from './ecdh.js';
import { gendig } from './gendig.js';
import { genkey } from './genkey.js';
import { info } from './info.js';
import { kdf } from './kdf.js';
import { lock } from './lock.js';
import { mac } from './mac.js';
import { nonce } from './nonce.js';
import { privwrite } from './privwrite.js';
import { random } from './random.js';
import { read } from './read.js';
import { secureboot } from './secureboot.js';
import { selftest } from './selftest.js';
import { sha } from './sha.js';
import { sign } from './sign.js';
import { updateextra } from './updateextra.js';
import { verify } from './verify.js';
import { write } from './write.js';

/** Handlers by opcode. */
export const COMMANDS: ReadonlyMap<number, CommandHandler> = new Map<number, CommandHandler>([
  [Opcode.INFO, info],
  [Opcode.READ, read],
  [Opcode.WRITE, write],
  [Opcode.LOCK, lock],
  [Opcode.RANDOM, random],
  [Opcode.NONCE, nonce],
  [Opcode.GENKEY, genkey],
  [Opcode.SIGN, sign],
  [Opcode.VERIFY, verify],
  [Opcode.SHA, sha],
  [Opcode.COUNTER, counter],
  [Opcode.ECDH, ecdh],
  [Opcode.GENDIG, gendig],
  [Opcode.CHECKMAC, checkmac],
  [Opcode.MAC, mac],
  [Opcode.SELFTEST, selftest],
  [Opcode.UPDATE_EXTRA, updateextra],
  [Opcode.AES, aes],
  [Opcode.KDF, kdf],
  [Opcode.SECUREBOOT, secureboot],
  [Opcode.DERIVE_KEY, derivekey],
  [Opcode.PRIVWRITE, privwrite],
]);
