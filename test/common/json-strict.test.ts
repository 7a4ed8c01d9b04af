import t from 'tap';
import { parseJsonStrict } from '../../common/json-strict.js';

t.test('valid JSON parses as JSON.parse does', async (t) => {
  for (const text of ['{}', '[]', '1', '"x"', 'null', '{"a":{"a":1},"b":[{"a":1},{"a":2}]}', '{"a\\"b":1,"a\\\\b":2}', ' { "x" : [ 1 , { "y" : "}" } ] } ']) {
    t.same(parseJsonStrict(text), JSON.parse(text), text);
  }
});

t.test('issue 11: a member named twice in one object is refused', async (t) => {
  t.throws(() => parseJsonStrict('{"quota":1,"quota":100000000}'), { code: 'DUPLICATE_JSON_KEY' });
  // The same name in another spelling (RFC 8259 §7 escapes) is the same member.
  t.throws(() => parseJsonStrict('{"quota":1,"\\u0071uota":2}'), { code: 'DUPLICATE_JSON_KEY' });
  t.throws(() => parseJsonStrict('{"units":[{"serial":"a","serial":"b"}]}'), { code: 'DUPLICATE_JSON_KEY' });
  t.throws(() => parseJsonStrict('[1,{"a":{"b":1},"a":2}]'), { code: 'DUPLICATE_JSON_KEY' });
  // A string value that looks like a member name is not one.
  t.same(parseJsonStrict('{"a":"a","b":"a"}'), { a: 'a', b: 'a' });
  t.same(parseJsonStrict('{"a":{"x":1},"b":{"x":1}}'), { a: { x: 1 }, b: { x: 1 } });
});

t.test('malformed JSON is MALFORMED_JSON', async (t) => {
  for (const text of ['', '{', '{"a":1,}', "{'a':1}", '{"a":1}x']) t.throws(() => parseJsonStrict(text), { code: 'MALFORMED_JSON' }, text);
});
