import { execFileSync } from 'node:child_process';
import t from 'tap';
import { canonicalJson, GENESIS_HASH, recordHash } from '../../../server/store/audit-chain.js';

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
