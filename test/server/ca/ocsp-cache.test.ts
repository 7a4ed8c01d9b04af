/**
 * The OCSP response cache's bounds (issue 11): never more than maxEntries entries or maxBytes
 * bytes, whatever is stored, with the least recently used dropped first.
 */
import t from 'tap';
import { ENTRY_OVERHEAD_BYTES, OcspResponseCache, type OcspCacheEntry } from '../../../server/ca/ocsp-cache.js';

const entry = (bytes: number): OcspCacheEntry => ({ der: Buffer.alloc(bytes), refreshAt: 0, expiresAt: 1, refreshing: false, retryAt: 0 });

t.test('bounded by entries: the least recently used go first', async (t) => {
  const c = new OcspResponseCache({ maxEntries: 3, maxBytes: 1e9 });
  for (const k of ['a', 'b', 'c']) c.set(k, entry(10));
  t.ok(c.get('a'), 'a becomes the most recent');
  c.set('d', entry(10));
  t.equal(c.size, 3);
  t.notOk(c.get('b'), 'b (least recently used) dropped');
  t.ok(c.get('a') && c.get('c') && c.get('d'));
  t.equal(c.evictions, 1);
});

t.test('bounded by bytes: responses, keys and overhead counted', async (t) => {
  const max = 10 * (1000 + ENTRY_OVERHEAD_BYTES + 2);
  const c = new OcspResponseCache({ maxEntries: 1e6, maxBytes: max });
  let highest = 0;
  for (let i = 0; i < 1000; i++) {
    c.set(String(i).padStart(2, '0').slice(-2), entry(1000));
    highest = Math.max(highest, c.bytes);
  }
  t.ok(highest <= max, `within the byte bound after every set (${highest} <= ${max})`);
  t.equal(c.size, 10);
  t.equal(c.bytes, 10 * (1000 + ENTRY_OVERHEAD_BYTES + 2));
  c.set('zz', entry(max));
  t.notOk(c.get('zz'), 'an entry larger than the whole bound is not kept');
  t.equal(c.size, 10, 'and evicts nothing');
});

t.test('replace, delete and clear keep the byte count exact', async (t) => {
  const c = new OcspResponseCache({ maxEntries: 10, maxBytes: 1e6 });
  c.set('k', entry(100));
  c.set('k', entry(300));
  t.equal(c.size, 1);
  t.equal(c.bytes, 300 + 1 + ENTRY_OVERHEAD_BYTES);
  t.equal(c.delete('k'), true);
  t.equal(c.delete('k'), false);
  t.equal(c.bytes, 0);
  c.set('x', entry(5));
  c.clear();
  t.equal(c.size, 0);
  t.equal(c.bytes, 0);
  t.throws(() => new OcspResponseCache({ maxEntries: 0, maxBytes: 1 }), RangeError);
});
