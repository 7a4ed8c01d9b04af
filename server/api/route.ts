/**
 * Mounting a route means naming it in the route table: its access decides, before any handler
 * runs, whether a client certificate is needed and which roles pass. The table, not a path
 * prefix, decides; a path the router does not match at all is refused by `unmatched`.
 */
import type { Router, RouterContext, RouterMiddleware } from '@koa/router';
import type { Context, Middleware, Next } from 'koa';
import { KeylineError } from '../../common/errors.js';
import { principalOf } from './middleware/mtls.js';
import { ROUTES, type Access, type RouteKey } from './route-table.js';

/** Handles one route. */
export type RouteHandler = (ctx: RouterContext) => Promise<void> | void;

/** Registers handlers on a router under the table's access rules. */
export type MountRoute = (key: RouteKey, handler: RouteHandler) => void;

/**
 * A mount function over `router` that authenticates with `auth` where the table asks for a role,
 * and with `est` (server/est/est-auth.ts) where it asks for an EST identity.
 */
export function routeMounter(router: Router, auth: Middleware, est?: Middleware): MountRoute {
  return (key, handler) => {
    const [method, path] = key.split(' ') as [string, string];
    const access: Access = ROUTES[key];
    if (access === 'est' && !est) throw new KeylineError('CONFIG_INVALID', `${key}: an EST route needs the EST authentication`);
    const chain: RouterMiddleware[] = access === 'public' ? [] : access === 'est' ? [est!] : [auth, authorize(key, access)];
    router.register(routerPath(path), [method], [...chain, handler], { name: key });
  };
}

/**
 * The last middleware: no route matched. Without a valid identity the answer is 401, whatever
 * the spelling (a different case, %2F, //, a trailing slash, dot segments), so probing paths
 * tells an outsider nothing; with one, 405 or 404.
 */
export function unmatched(router: Router, auth: Middleware): Middleware {
  return async (ctx: Context) => {
    await auth(ctx, async () => {});
    if (router.match(ctx.path, ctx.method).path.length > 0) {
      throw new KeylineError('METHOD_NOT_ALLOWED', `${ctx.method} is not allowed on ${ctx.path}`);
    }
    throw new KeylineError('NOT_FOUND', `no route ${ctx.method} ${ctx.path}`);
  };
}

function authorize(key: RouteKey, roles: readonly string[]): Middleware {
  return async (ctx: Context, next: Next) => {
    const p = principalOf(ctx);
    if (!roles.includes(p.role)) throw new KeylineError('FORBIDDEN', `${key} needs the role ${roles.join(' or ')}; '${p.id}' is ${p.role}`);
    await next();
  };
}

// path-to-regexp reads ':' as a parameter anywhere; the table's parameters follow a '/', and a
// colon elsewhere (the custom method in /v1/units:batch) is literal.
function routerPath(path: string): string {
  return path.replace(/([^/]):/g, '$1\\:');
}
