/**
 * The line and confirm gating: REGISTRATION_PENDING is waited out per unit (the line is not
 * paused), a unit whose registrations stay incomplete or are rejected is left pending with the
 * code (journal and report) and never counted good, and a later run confirms it again.
 */
import { join } from 'node:path';
import t from 'tap';
import { ApiError } from '../../station/api-client.js';
import { Journal } from '../../station/journal.js';
import { journalCsv } from '../../station/report.js';
import { apiFor, blankChips, makeBackend, runOver, type Backend } from './harness.js';
import { OPERATOR } from '../helpers/actors.js';

/** The in-process API whose confirm answers `script(n)` (n = 1, 2, ...) before really confirming. */
function scriptedConfirm(b: Backend, script: (n: number) => ApiError | null) {
  const api = apiFor(b);
  let n = 0;
  return {
    calls: () => n,
    api: {
      ...api,
      async confirmUnit(serial: string, fp: string) {
        const r = await api.confirmUnit(serial, fp);
        const err = script(++n);
        if (err) throw err;
        return r;
      },
    },
  };
}

const pending = () => new ApiError('REGISTRATION_PENDING', 'registration with aws not confirmed within 10 ms', 503, { registrations: [] });
const wait = { totalMs: 150, initialDelayMs: 10, maxDelayMs: 40 };

t.test('REGISTRATION_PENDING twice, then complete: the unit is good, the line never paused', async (t) => {
  const b = await makeBackend(t);
  const s = scriptedConfirm(b, (n) => (n <= 2 ? pending() : null));
  const { result, err } = await runOver(b, blankChips(2), join(t.testdir(), 'j.db'), { target: 2, parallel: 1, api: s.api, registrationWait: wait });
  t.equal(result.good, 2);
  t.equal(s.calls(), 4, 'the first unit confirmed three times');
  t.notMatch(err, /line paused/);
});

t.test('registrations still pending after the wait: unit pending with the code, not good; a later run completes it', async (t) => {
  const b = await makeBackend(t);
  const chips = blankChips(2);
  const jf = join(t.testdir(), 'j.db');
  const s = scriptedConfirm(b, () => pending());
  const first = await runOver(b, chips, jf, { target: 2, parallel: 1, api: s.api, registrationWait: wait });
  t.equal(first.result.good, 0);
  t.equal(first.result.stopReason, 'no-chips');
  t.match(first.err, /not complete [0-9A-F]{18}: REGISTRATION_PENDING/);
  const j = new Journal(jf);
  const units = j.list();
  t.same(units.map((u) => [u.status, u.step]), [['pending', 'locked'], ['pending', 'locked']]);
  t.ok(units.every((u) => /^REGISTRATION_PENDING: /.test(u.reason ?? '')));
  t.match(journalCsv(j).csv, /,pending,locked,REGISTRATION_PENDING: /);
  j.close();
  // The registry caught up: the next run confirms both from the journal, without re-issuing.
  const issued = (await b.prov.getWorkOrder('WO-1', OPERATOR)).issued;
  const second = await runOver(b, chips, jf, { target: 2, parallel: 1, registrationWait: wait });
  t.equal(second.result.good, 2);
  t.equal((await b.prov.getWorkOrder('WO-1', OPERATOR)).issued, issued, 'nothing issued twice');
});

t.test('REGISTRY_REJECTED: pending at once with the reason, never good', async (t) => {
  const b = await makeBackend(t);
  const jf = join(t.testdir(), 'j.db');
  const s = scriptedConfirm(b, () => new ApiError('REGISTRY_REJECTED', "registry 'aws' refused the registration (policy missing)", 502));
  const { result } = await runOver(b, blankChips(1), jf, { target: 1, parallel: 1, api: s.api, registrationWait: wait });
  t.equal(result.good, 0);
  t.equal(s.calls(), 1, 'not retried');
  const j = new Journal(jf);
  t.teardown(() => j.close());
  t.match(j.list()[0], { status: 'pending', reason: /^REGISTRY_REJECTED: registry 'aws' refused/ });
});
