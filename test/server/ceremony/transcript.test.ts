/**
 * The ceremony transcript (issue 19): entries chained by hash and signed by the root key; every
 * way of altering it (an entry changed, changed and re-hashed, removed, reordered, appended by
 * another key) is named by the entry at fault; witnesses are counted distinct.
 */
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { appendTranscript, entryHash, readTranscript, requireWitnesses, verifyTranscript, type TranscriptEntry } from '../../../server/ceremony/transcript.js';
import { createSoftSigner } from '../../helpers/soft-signer.js';

const root = createSoftSigner();
const other = createSoftSigner();
const dir = t.testdir();
const file = join(dir, 'ceremony-transcript.jsonl');
const draft = (step: TranscriptEntry['step'], subject: string) => ({ step, actor: 'ops', witnesses: ['Alice', 'Bob'], subject, detail: { n: subject } });
await appendTranscript(file, draft('root', 'r1'), root);
await appendTranscript(file, draft('sign-csr', 'i1'), root);
await appendTranscript(file, draft('revoke-issuing', 'i1'), root);
const spki = await root.publicKeySpki();
const lines = readFileSync(file, 'utf8').trim().split('\n');
const rewrite = (name: string, ls: string[]) => {
  const p = join(dir, name);
  writeFileSync(p, ls.join('\n') + '\n');
  return readTranscript(p);
};

t.test('a transcript as written verifies; its id is the first hash', async (t) => {
  const entries = readTranscript(file);
  t.same(entries.map((e) => [e.seq, e.step]), [[1, 'root'], [2, 'sign-csr'], [3, 'revoke-issuing']]);
  t.equal(entries[1]!.prev, entries[0]!.hash);
  t.same(verifyTranscript(entries, spki), { entries: 3, id: entries[0]!.hash, head: entries[2]!.hash });
  t.same(readTranscript(join(dir, 'absent.jsonl')), []);
});

t.test('every alteration is named by its entry', async (t) => {
  const changed = rewrite('changed', [lines[0]!, lines[1]!.replace('"i1"', '"i2"'), lines[2]!]);
  t.throws(() => verifyTranscript(changed, spki), { code: 'TRANSCRIPT_INVALID', message: /entry 2 \(seq 2, sign-csr\): hash does not match/ });
  // Re-hashing the change is not enough: the root's signature covers the hash.
  const e = JSON.parse(lines[1]!) as TranscriptEntry;
  e.witnesses = ['Mallory', 'Bob'];
  e.hash = entryHash(e);
  t.throws(() => verifyTranscript(rewrite('rehashed', [lines[0]!, JSON.stringify(e)]), spki), { code: 'TRANSCRIPT_INVALID', message: /entry 2 .*signature does not verify/ });
  t.throws(() => verifyTranscript(rewrite('removed', [lines[0]!, lines[2]!]), spki), { message: /entry 2 \(seq 3, revoke-issuing\): seq 3 where 2 was expected/ });
  t.throws(() => verifyTranscript(rewrite('reordered', [lines[1]!, lines[0]!, lines[2]!]), spki), { message: /entry 1 \(seq 2, sign-csr\)/ });
  t.throws(() => verifyTranscript([], spki), { code: 'TRANSCRIPT_INVALID' });
  t.throws(() => rewrite('not-json', [lines[0]!, '{oops']), { code: 'TRANSCRIPT_INVALID', message: /line 2 is not JSON/ });
});

t.test('only the root key extends it', async (t) => {
  const forged = join(dir, 'forged.jsonl');
  writeFileSync(forged, lines.join('\n') + '\n');
  await appendTranscript(forged, draft('crl', 'root-crl'), other);
  t.throws(() => verifyTranscript(readTranscript(forged), spki), { message: /entry 4 \(seq 4, crl\): the root key's signature does not verify/ });
  const otherSpki = await other.publicKeySpki();
  t.throws(() => verifyTranscript(readTranscript(file), otherSpki), { message: /entry 1 .*signature/ }, 'another root');
});

t.test('witnesses: distinct, non-empty names, at least the minimum', async (t) => {
  t.same(requireWitnesses(['Alice', ' Bob ', 'Alice'], 2), ['Alice', 'Bob']);
  t.throws(() => requireWitnesses(['Alice', 'Alice', ' '], 2), { code: 'WITNESSES_REQUIRED', detail: { named: 1, required: 2 } });
  t.throws(() => requireWitnesses(undefined, 1), { code: 'WITNESSES_REQUIRED' });
  t.same(requireWitnesses(undefined, 0), []);
});
