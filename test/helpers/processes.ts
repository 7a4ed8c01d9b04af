/** Processes seen from a test: whether one still runs. */

/** True while `pid` exists (signal 0 only asks). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
