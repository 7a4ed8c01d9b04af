/**
 * The web console (issue 18): server-rendered pages and forms beside the API, on the same HTTPS
 * listener, mounted through the same route table, calling the same services. Stations get none.
 */
import type { Middleware } from 'koa';
import type { ApiDeps } from '../api/deps.js';
import type { MountRoute } from '../api/route.js';
import { consoleErrorPages } from './error-page.js';
import { mountConsoleActions } from './mount-actions.js';
import { mountConsolePages } from './mount-pages.js';

/** Mounts every /console route. */
export function mountConsole(mount: MountRoute, deps: ApiDeps): void {
  mountConsolePages(mount, deps);
  mountConsoleActions(mount, deps);
}

/** The middleware that renders console refusals as pages for browsers (inside handleErrors). */
export function consoleMiddleware(): Middleware {
  return consoleErrorPages();
}
