/**
 * MQTT topic-filter matching (MQTT 3.1.1 §4.7 / MQTT 5 §4.7): `+` one level, `#` the rest;
 * a `$share/{group}/` prefix (MQTT 5 §4.8.2) is not part of the filter proper.
 */

/** The filter without a shared-subscription prefix. */
export function stripShare(filter: string): string {
  const m = /^\$share\/[^/]+\/(.*)$/.exec(filter);
  return m ? m[1]! : filter;
}

/** True when `topic` matches `filter`. */
export function topicMatches(filter: string, topic: string): boolean {
  const f = stripShare(filter).split('/');
  const t = topic.split('/');
  // §4.7.2: a filter starting with a wildcard does not match topics beginning with '$'.
  if ((f[0] === '+' || f[0] === '#') && topic.startsWith('$')) return false;
  for (let i = 0; i < f.length; i++) {
    if (f[i] === '#') return true;
    if (i >= t.length) return false;
    if (f[i] !== '+' && f[i] !== t[i]) return false;
  }
  return f.length === t.length;
}
