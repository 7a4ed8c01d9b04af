/**
 * The console's static files: its own stylesheet and scripts (server/console/assets/) and uPlot
 * from node_modules (no CDN: the factory network is offline). A fixed list, read once.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const own = (name: string) => join(dirname(fileURLToPath(import.meta.url)), 'assets', name);
const uplot = (name: string) => join(dirname(createRequire(import.meta.url).resolve('uplot')), name);

const FILES: Record<string, { path: string; type: string }> = {
  'console.css': { path: own('console.css'), type: 'text/css; charset=utf-8' },
  'console.js': { path: own('console.js'), type: 'text/javascript; charset=utf-8' },
  'line.js': { path: own('line.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.iife.min.js': { path: uplot('uPlot.iife.min.js'), type: 'text/javascript; charset=utf-8' },
  'uPlot.min.css': { path: uplot('uPlot.min.css'), type: 'text/css; charset=utf-8' },
};

const cache = new Map<string, Buffer>();

/** The file's bytes and type, or null for a name not on the list. */
export function consoleAsset(name: string): { body: Buffer; type: string } | null {
  const f = Object.hasOwn(FILES, name) ? FILES[name] : undefined;
  if (!f) return null;
  let body = cache.get(name);
  if (!body) cache.set(name, (body = readFileSync(f.path)));
  return { body, type: f.type };
}
