/**
 * Finds the PostgreSQL server binaries and, when running as root, the unprivileged system user
 * they must run as (postgres refuses to start as root: "root execution of the PostgreSQL server
 * is not permitted").
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { KeylineError } from '../common/errors.js';

/** The system user a root process runs throw-away clusters as. */
export const PG_SYSTEM_USER = 'keyline-pg';

/** Where initdb and postgres live: the highest /usr/lib/postgresql/N/bin (Debian), else PATH. */
export function findPgBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (existsSync(root)) {
    const versions = readdirSync(root).filter((v) => /^\d+(\.\d+)?$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const bin = join(root, v, 'bin');
      if (existsSync(join(bin, 'initdb')) && existsSync(join(bin, 'postgres'))) return bin;
    }
  }
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (dir && existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) return dir;
  }
  return undefined;
}

/** Like findPgBinDir, but throws NOT_SUPPORTED naming the fix when PostgreSQL is absent. */
export function requirePgBinDir(): string {
  const dir = findPgBinDir();
  if (!dir) throw new KeylineError('NOT_SUPPORTED', 'PostgreSQL binaries (initdb, postgres) not found in /usr/lib/postgresql/*/bin or PATH: run scripts/setup (Debian package postgresql)');
  return dir;
}

/** The uid/gid to run the cluster as: ourselves, or PG_SYSTEM_USER (created if missing) when root. */
export function pgRunAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const lookup = (): string | undefined => {
    try {
      return execFileSync('getent', ['passwd', PG_SYSTEM_USER], { encoding: 'utf8' });
    } catch {
      return undefined;
    }
  };
  let entry = lookup();
  if (!entry) {
    try {
      execFileSync('useradd', ['--system', '--no-create-home', '--shell', '/usr/sbin/nologin', PG_SYSTEM_USER], { stdio: 'pipe' });
    } catch (cause) {
      // Two test files starting at once may both try to create it: the loser finds it afterwards.
      entry = lookup();
      if (!entry) throw new KeylineError('NOT_SUPPORTED', `cannot create system user ${PG_SYSTEM_USER} to run PostgreSQL (it refuses to run as root)`, { cause });
    }
    entry = lookup();
  }
  const fields = (entry ?? '').trim().split(':');
  const uid = Number(fields[2]);
  const gid = Number(fields[3]);
  if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new KeylineError('NOT_SUPPORTED', `cannot read uid/gid of system user ${PG_SYSTEM_USER}`);
  return { uid, gid };
}
