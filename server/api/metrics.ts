/**
 * A small Prometheus registry (text exposition format 0.0.4): counters with labels and one
 * latency histogram, enough for issuance rates, refusals by code and request latency.
 */

type Labels = Record<string, string>;

const BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5];

/** Process-local metrics rendered at GET /metrics. */
export class Metrics {
  private readonly counters = new Map<string, { help: string; values: Map<string, number> }>();
  private readonly histCounts = new Map<string, number[]>();
  private readonly histSums = new Map<string, number>();
  private readonly collectors: Array<() => string[]> = [];

  /** Adds exposition lines computed at each scrape (gauges such as the CA lifetimes: ca-metrics.ts). */
  collect(fn: () => string[]): void {
    this.collectors.push(fn);
  }

  /** Adds `by` to counter `name` with `labels`. */
  inc(name: string, help: string, labels: Labels = {}, by = 1): void {
    let c = this.counters.get(name);
    if (!c) this.counters.set(name, (c = { help, values: new Map() }));
    const key = labelString(labels);
    c.values.set(key, (c.values.get(key) ?? 0) + by);
  }

  /** Records one HTTP request's duration in seconds under its route. */
  observeRequest(route: string, seconds: number): void {
    const key = labelString({ route });
    let counts = this.histCounts.get(key);
    if (!counts) this.histCounts.set(key, (counts = new Array(BUCKETS.length + 1).fill(0)));
    let i = BUCKETS.findIndex((b) => seconds <= b);
    if (i < 0) i = BUCKETS.length;
    counts[i]!++;
    this.histSums.set(key, (this.histSums.get(key) ?? 0) + seconds);
  }

  /** The exposition text. */
  render(): string {
    const out: string[] = [];
    for (const [name, c] of this.counters) {
      out.push(`# HELP ${name} ${c.help}`, `# TYPE ${name} counter`);
      for (const [labels, v] of c.values) out.push(`${name}${labels} ${v}`);
    }
    for (const c of this.collectors) out.push(...c());
    const h = 'keyline_http_request_duration_seconds';
    out.push(`# HELP ${h} Station API request latency.`, `# TYPE ${h} histogram`);
    for (const [labels, counts] of this.histCounts) {
      const inner = labels.slice(1, -1);
      let cum = 0;
      BUCKETS.forEach((b, i) => {
        cum += counts[i]!;
        out.push(`${h}_bucket{${inner},le="${b}"} ${cum}`);
      });
      cum += counts[BUCKETS.length]!;
      out.push(`${h}_bucket{${inner},le="+Inf"} ${cum}`, `${h}_sum${labels} ${this.histSums.get(labels)}`, `${h}_count${labels} ${cum}`);
    }
    return out.join('\n') + '\n';
  }
}

function labelString(labels: Labels): string {
  const parts = Object.entries(labels).map(([k, v]) => `${k}="${v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`);
  return parts.length ? `{${parts.join(',')}}` : '';
}
