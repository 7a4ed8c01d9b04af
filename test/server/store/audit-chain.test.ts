import { execFileSync } from 'node:child_process';
import t from 'tap';
import { canonicalJson, chainRecord, GENESIS_HASH, recordHash } from '../../../server/store/audit-chain.js';

t.test('canonical JSON sorts keys at every depth and drops undefined', async (t) => {
  t.equal(canonicalJson({ b: 1, a: { d: [{ z: 1, y: 2 }], c: 'x' }, u: undefined }), '{"a":{"c":"x","d":[{"y":2,"z":1}]},"b":1}');
  t.equal(canonicalJson({ x: 1, y: 2 }), canonicalJson({ y: 2, x: 1 }));
});

t.test('record hash = SHA-256(prev ‖ "\\n" ‖ JSON array of the fields), cross-checked with openssl', async (t) => {
  const f = { seq: 1, at: '2026-01-01T00:00:00.000Z', actor: 'station-01', action: 'unit.issued', subject: '0123000000000001EE', detail: '{"a":1}', prevHash: GENESIS_HASH };
  const input = `${GENESIS_HASH}\n[1,"2026-01-01T00:00:00.000Z","station-01","unit.issued","0123000000000001EE","{\\"a\\":1}"]`;
  const openssl = execFileSync('openssl', ['dgst', '-sha256', '-r'], { input }).toString().split(' ')[0];
  t.equal(recordHash(f), openssl);
  // Moving text between fields changes the hash (no concatenation ambiguity).
  t.not(recordHash({ ...f, actor: 'station-01unit.issued', action: '' }), recordHash(f));
  t.not(recordHash({ ...f, seq: 2 }), recordHash(f));
});

t.test('chainRecord: the first record links to the genesis hash, the next to its head', async (t) => {
  const first = chainRecord({ actor: 'a', action: 'x', detail: { b: 1, a: 2 } }, undefined, '2026-01-01T00:00:00.000Z');
  t.match(first, { seq: 1, prevHash: GENESIS_HASH, subject: null, detail: '{"a":2,"b":1}' });
  t.equal(first.hash, recordHash(first));
  const next = chainRecord({ actor: 'a', action: 'y', subject: 's' }, first, '2026-01-01T00:00:01.000Z');
  t.match(next, { seq: 2, prevHash: first.hash, subject: 's', detail: null });
  t.equal(next.hash, recordHash(next));
});
