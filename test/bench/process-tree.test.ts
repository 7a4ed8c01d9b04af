import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import t from 'tap';
import { killTree, processTree } from '../../bench/process-tree.js';

// Running, not a zombie (a killed grandchild stays one until init reaps it).
const alive = (pid: number) => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
};

t.test('killTree ends a process and the grandchild it spawned, which outlives its parent otherwise', async (t) => {
  // A parent that spawns a long-lived grandchild and prints its pid, as a cluster primary forks workers.
  const parent = spawn(process.execPath, ['-e', `
    const c = require('node:child_process').spawn(process.execPath, ['-e', 'setInterval(() => {}, 1000)'], { stdio: 'ignore' });
    console.log(c.pid); setInterval(() => {}, 1000);`], { stdio: ['ignore', 'pipe', 'inherit'] });
  const [line] = (await once(parent.stdout!, 'data')) as [Buffer];
  const grandchild = Number(line.toString().trim());
  t.teardown(() => {
    for (const p of [parent.pid!, grandchild]) if (alive(p)) process.kill(p, 'SIGKILL');
  });
  t.same(processTree(parent.pid!).sort(), [parent.pid!, grandchild].sort(), 'the tree holds the parent and the grandchild');

  const exited = once(parent, 'exit');
  t.same(killTree(parent.pid!).sort(), [parent.pid!, grandchild].sort(), 'both signalled');
  await exited;
  for (let i = 0; i < 50 && alive(grandchild); i++) await new Promise((r) => setTimeout(r, 20));
  t.notOk(alive(grandchild), 'the grandchild is gone too');
  t.same(killTree(undefined), [], 'no pid: nothing signalled');
});
