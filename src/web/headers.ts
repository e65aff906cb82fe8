/**
 * What browsers are allowed to do with this server: the security headers of every response, the
 * CORS answer, and the Origin check of WebSocket upgrades. One module, used by every response
 * path (static files of the web app, GraphiQL's page and assets, Yoga's responses, /health).
 *
 * Guarantees:
 * - every response carries `X-Content-Type-Options: nosniff`, `Referrer-Policy: no-referrer`,
 *   `X-Frame-Options: DENY`, `Cross-Origin-Resource-Policy: same-origin` and a
 *   Content-Security-Policy with `frame-ancestors 'none'`: API responses (JSON, SSE) allow nothing
 *   (`default-src 'none'`); the web app may load scripts, styles and workers only from its own
 *   origin and connect only to it (HTTP, ws:, wss:); GraphiQL likewise, plus inline styles, which
 *   its editor (Monaco) injects at run time.
 * - CORS: a request whose Origin is in the allow-list (CORS_ORIGINS) gets
 *   `Access-Control-Allow-Origin: <that origin>` and no `Allow-Credentials` (nothing here uses
 *   cookies); any other Origin gets no `Access-Control-*` header at all, so browsers refuse its
 *   preflights and keep its pages from reading answers. The web app and GraphiQL are same-origin
 *   and need no CORS.
 * - A WebSocket upgrade that carries an Origin (every browser sends one) is accepted only from the
 *   server's own origin or the allow-list; clients that send no Origin (programs) are not affected.
 *
 * Not guaranteed: CSRF. A "simple" cross-origin request (a form post, an `<img src>` GET) is sent
 * by the browser whatever CORS says; Yoga's CSRF plugin (see `CSRF_HEADER`) refuses those.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { CORSOptions, Plugin } from 'graphql-yoga';

/**
 * The header that lets a request without a JSON content type (a GET) run an operation: browsers
 * only send it after a CORS preflight, which a foreign page cannot pass. Yoga's default name, so
 * Yoga-aware clients know it.
 */
export const CSRF_HEADER = 'x-graphql-yoga-csrf';

/** Which Content-Security-Policy a response gets. */
export type PageKind = 'api' | 'app' | 'graphiql';

const COMMON: Record<string, string> = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-resource-policy': 'same-origin',
};

const BASE = "object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

// A Host header is put into the policy only when it is a plain host[:port]; anything else gets
// 'self' alone (which in current browsers also covers ws: and wss: of the same host).
const HOST = /^(?:[a-z0-9.-]+|\[[0-9a-f:.]+\])(?::\d{1,5})?$/i;

function connectSrc(host: string | undefined): string {
  return host && HOST.test(host) ? `connect-src 'self' ws://${host} wss://${host}` : "connect-src 'self'";
}

/** The Content-Security-Policy of one kind of response; `host` is the request's Host header. */
export function contentSecurityPolicy(kind: PageKind, host?: string): string {
  switch (kind) {
    case 'api':
      return `default-src 'none'; form-action 'none'; ${BASE}`;
    case 'app':
      return [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        connectSrc(host),
        "worker-src 'self'",
        "manifest-src 'self'",
        "form-action 'self'",
        BASE,
      ].join('; ');
    case 'graphiql':
      return [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        connectSrc(host),
        "worker-src 'self'",
        "form-action 'none'",
        BASE,
      ].join('; ');
  }
}

/** Every security header of one kind of response, for a node response or a fetch Response. */
export function securityHeaders(kind: PageKind, host?: string): Record<string, string> {
  return { ...COMMON, 'content-security-policy': contentSecurityPolicy(kind, host) };
}

/** Sets the security headers on a node response (before writeHead; writeHead's own win). */
export function setSecurityHeaders(req: IncomingMessage, res: ServerResponse, kind: PageKind): void {
  for (const [name, value] of Object.entries(securityHeaders(kind, req.headers.host)))
    res.setHeader(name, value);
}

/** Yoga plugin: the security headers on each of Yoga's responses (GraphiQL's page is HTML). */
export function useSecurityHeaders(): Plugin {
  return {
    onResponse({ request, response }) {
      const html = response.headers.get('content-type')?.startsWith('text/html') ?? false;
      const host = new URL(request.url).host;
      for (const [name, value] of Object.entries(securityHeaders(html ? 'graphiql' : 'api', host)))
        response.headers.set(name, value);
      // The CORS answer depends on Origin: shared caches must keep one copy per origin.
      const vary = response.headers.get('vary');
      if (!vary?.toLowerCase().includes('origin'))
        response.headers.set('vary', vary ? `${vary}, Origin` : 'Origin');
    },
  };
}

/** Yoga's `cors` option: the allow-list, and nothing at all for any other origin. */
export function corsPolicy(allowedOrigins: readonly string[]): (request: Request) => CORSOptions {
  const allowed = new Set(allowedOrigins);
  return (request) => {
    const origin = request.headers.get('origin');
    if (!origin || !allowed.has(origin)) return false;
    return { origin: [origin], credentials: false, methods: ['GET', 'POST'], maxAge: 600 };
  };
}

/**
 * True when a WebSocket upgrade may proceed: no Origin (not a browser), the server's own origin,
 * or one in the allow-list. Browsers apply no CORS to WebSockets, so this is the only check.
 */
export function upgradeOriginAllowed(req: IncomingMessage, allowedOrigins: readonly string[]): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  if (allowedOrigins.includes(origin)) return true;
  try {
    return new URL(origin).host === req.headers.host;
  } catch {
    return false;
  }
}
