/**
 * The display: label lines on stdout, plain progress lines off a terminal, a redrawn bar on one,
 * rate and ETA from a fixed clock, and the JSON summary as the last stdout line.
 */
import t from 'tap';
import { formatDuration, Progress, type RunSummary } from '../../station/progress.js';

function sink(isTTY = false) {
  const s = { text: '', isTTY, columns: 100, write: (x: string) => void (s.text += x) };
  return s;
}

t.test('plain mode: labels, events, status lines, rate and ETA', async (t) => {
  let now = 0;
  const out = sink();
  const err = sink();
  const p = new Progress({ target: 10, alreadyGood: 2, out, err, now: () => now, plainIntervalMs: 1000 });
  now = 36_000; // 36 s: one unit in 36 s is 100 units/hour
  p.unitGood('0123000000000001EE', 'ab'.repeat(32));
  t.equal(out.text, `label serial=0123000000000001EE fingerprint=${'ab'.repeat(32)}\n`);
  t.equal(Math.round(p.rate()), 100);
  t.equal(Math.round(p.etaSeconds()), 7 * 36, 'seven left at 36 s each');
  t.match(err.text, /^progress 3\/10 good, 0 failed, 100 units\/h, ETA 4:12\n$/);
  p.unitFailed('0123000000000002EE', 'ATCA_EXECUTION_ERROR: x', true);
  t.match(err.text, /quarantined 0123000000000002EE \(possible clone\): ATCA_EXECUTION_ERROR: x\n/);
  p.pause('line paused: server unreachable, retrying in 2s');
  p.resume();
  t.match(err.text, /line paused: server unreachable, retrying in 2s\nline resumed: server reachable again\n/);
  t.notMatch(err.text, /\x1b/, 'no escape codes off a terminal');
});

t.test('terminal mode: the bar is redrawn in place', async (t) => {
  let now = 0;
  const err = sink(true);
  const p = new Progress({ target: 4, alreadyGood: 0, out: sink(), err, now: () => now });
  now = 1000;
  p.unitGood('0123000000000001EE', 'aa');
  t.match(err.text, /\r\x1b\[K\[#+-+\] 1\/4 good, 0 failed/);
  p.event('hello');
  t.match(err.text, /\r\x1b\[Khello\n\r\x1b\[K\[/, 'a message clears the bar, prints, and redraws');
});

t.test('finish prints the JSON summary last on stdout', async (t) => {
  const out = sink();
  const p = new Progress({ target: 1, alreadyGood: 1, out, err: sink() });
  const summary: RunSummary = {
    workOrder: 'WO-1', station: 's', target: 1, good: 1, goodThisRun: 0, quarantined: 0, possibleClones: 0,
    stopReason: 'done', elapsedSeconds: 0, unitsPerHour: 0, quarantinedUnits: [],
  };
  p.finish(summary, true);
  t.same(JSON.parse(out.text.trim().split('\n').at(-1)!), summary);
});

t.test('durations', async (t) => {
  t.equal(formatDuration(59), '0:59');
  t.equal(formatDuration(3725), '1:02:05');
  t.equal(formatDuration(Infinity), '--:--');
});
