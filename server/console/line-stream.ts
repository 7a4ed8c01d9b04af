/**
 * GET /console/line/events: the line page's server-sent events (issue 18). Each stream is a
 * viewer of the process's one LineActivity, which pushes at most one snapshot a second whatever
 * the number of viewers; the sections arrive rendered (pages/line.ts), with the chart's series.
 * Streams are bounded in number, send a comment every 15 s so idle proxies keep them, and end
 * when the viewer's certificate is revoked (checked every 5 s, as a request would be).
 */
import type { Context } from 'koa';
import { KeylineError } from '../../common/errors.js';
import type { LineSnapshot } from '../services/line-window.js';
import type { LineActivity } from '../services/line-activity.js';
import { principalOf, type RevocationCheck } from '../api/middleware/mtls.js';
import { lineSections } from './pages/line.js';

/** What a stream needs. */
export interface LineStreamDeps {
  line: LineActivity;
  isRevoked: RevocationCheck;
  maxStreams: number;
}

/** One SSE message with the rendered sections and the chart's series. */
export function lineEvent(s: LineSnapshot): string {
  const sections = Object.fromEntries(Object.entries(lineSections(s)).map(([k, v]) => [k, v.value]));
  return `event: line\ndata: ${JSON.stringify({ at: s.at, sections, series: s.series })}\n\n`;
}

/** Opens the stream. */
export async function openLineStream(ctx: Context, d: LineStreamDeps): Promise<void> {
  if (!ctx.get('accept').includes('text/event-stream')) {
    throw new KeylineError('NOT_ACCEPTABLE', 'accept: this route answers text/event-stream only (an EventSource)');
  }
  if (d.line.viewerCount >= d.maxStreams) throw new KeylineError('STREAMS_EXHAUSTED', `${d.maxStreams} live streams are open; try again later`);
  const principal = principalOf(ctx);
  // Written to the response directly (ctx.respond = false): a viewer leaving is the normal end of
  // a stream, not the "premature close" error Koa's body pipeline would log for it.
  const res = ctx.res;
  const write = (chunk: string) => !res.writableEnded && !res.destroyed && res.write(chunk);
  ctx.req.socket.setTimeout(0);
  ctx.status = 200;
  ctx.respond = false;
  res.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-store', 'x-accel-buffering': 'no', 'x-content-type-options': 'nosniff' });
  write('retry: 3000\n\n');
  write(lineEvent(await d.line.snapshot()));
  const unwatch = await d.line.watch((s) => write(lineEvent(s)));
  let beats = 0;
  const stop = () => {
    clearInterval(timer);
    unwatch();
    if (!res.writableEnded) res.end();
  };
  const timer = setInterval(() => {
    if (++beats % 3 === 0) write(': keep-alive\n\n');
    void Promise.resolve(d.isRevoked(principal.certificateSerial)).then((revoked) => revoked && stop(), stop);
  }, 5000);
  timer.unref();
  res.on('close', stop);
}
