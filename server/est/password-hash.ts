/**
 * Password hashes for the per-label HTTP Basic credentials, in the PHC string format
 * (`$scrypt$ln=15,r=8,p=1$<salt>$<hash>`, base64 without padding): scrypt (RFC 7914) from
 * node:crypto, a memory-hard function, so keyline.json's referenced file holds no password and a
 * stolen hash is slow to attack. Verification compares in constant time.
 */
import { randomBytes, scrypt, timingSafeEqual } from 'node:crypto';
import { KeylineError } from '../../common/errors.js';

/** Cost parameters of new hashes: N = 2^15, r = 8, p = 1 (32 MiB, tens of milliseconds). */
const DEFAULT = { ln: 15, r: 8, p: 1 };
const PHC = /^\$scrypt\$ln=(\d{1,2}),r=(\d{1,2}),p=(\d{1,2})\$([A-Za-z0-9+/]{16,})\$([A-Za-z0-9+/]{32,})$/;

function derive(password: string, salt: Buffer, ln: number, r: number, p: number, length: number): Promise<Buffer> {
  const N = 2 ** ln;
  return new Promise((resolve, reject) => {
    scrypt(password.normalize('NFC'), salt, length, { N, r, p, maxmem: 256 * N * r + 1024 * 1024 }, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

/** A new PHC scrypt hash of `password` with a random 16-byte salt. */
export async function hashPassword(password: string, cost = DEFAULT): Promise<string> {
  const salt = randomBytes(16);
  const key = await derive(password, salt, cost.ln, cost.r, cost.p, 32);
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return `$scrypt$ln=${cost.ln},r=${cost.r},p=${cost.p}$${b64(salt)}$${b64(key)}`;
}

/** A parsed hash, checked once at start-up so a bad one is a config error, not a refusal later. */
export interface PasswordHash {
  verify(password: string): Promise<boolean>;
}

/** Parses a PHC scrypt string; CONFIG_INVALID naming `field` (never the value) when it is not one. */
export function parsePasswordHash(phc: string, field: string): PasswordHash {
  const m = PHC.exec(phc.trim());
  const [ln, r, p] = m ? [Number(m[1]), Number(m[2]), Number(m[3])] : [0, 0, 0];
  if (!m || ln < 10 || ln > 22 || r < 1 || p < 1 || p > 16) {
    throw new KeylineError('CONFIG_INVALID', `${field}: not a scrypt hash ($scrypt$ln=10..22,r=..,p=..$salt$hash; make one with keyline est hash-password)`);
  }
  const salt = Buffer.from(m[4]!, 'base64');
  const expected = Buffer.from(m[5]!, 'base64');
  return {
    async verify(password) {
      const got = await derive(password, salt, ln, r, p, expected.length);
      return timingSafeEqual(got, expected);
    },
  };
}
