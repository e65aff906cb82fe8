/**
 * Serves the built web app (web/dist) from the API's HTTP server: files with their content type,
 * hashed assets cached for a year, index.html and the service worker revalidated on every load,
 * and index.html for any other GET that looks like an app route (SPA fallback). It never answers
 * /graphql or /health, so it cannot shadow the API. Every answer carries the web app's security
 * headers (src/web/headers.ts).
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import path from 'node:path';
import { setSecurityHeaders } from './headers.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.webmanifest': 'application/manifest+json',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.woff2': 'font/woff2',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

const RESERVED = new Set(['/graphql', '/health']);

export type StaticHandler = (req: IncomingMessage, res: ServerResponse) => Promise<boolean>;

/** Returns a handler that answers the request (true) or leaves it to the API (false). */
export function createStaticHandler(distDir: string): StaticHandler {
  const root = path.resolve(distDir);
  return async (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') return false;
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://localhost').pathname);
    } catch {
      return false;
    }
    if (RESERVED.has(pathname) || pathname.startsWith('/graphql/')) return false;

    const wanted = path.resolve(root, `.${pathname}`);
    if (wanted !== root && !wanted.startsWith(root + path.sep)) return false;
    let file = wanted;
    let info = await stat(file).catch(() => null);
    if (info?.isDirectory()) {
      file = path.join(file, 'index.html');
      info = await stat(file).catch(() => null);
    }
    setSecurityHeaders(req, res, 'app');
    if (!info?.isFile()) {
      // An app route (no extension) gets the app; a missing asset gets a plain 404.
      if (path.extname(pathname) !== '') {
        res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found');
        return true;
      }
      file = path.join(root, 'index.html');
      info = await stat(file).catch(() => null);
      if (!info?.isFile()) return false;
    }

    const rel = path.relative(root, file).split(path.sep).join('/');
    const immutable = rel.startsWith('assets/');
    res.writeHead(200, {
      'content-type': TYPES[path.extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': info.size,
      'cache-control': immutable ? 'public, max-age=31536000, immutable' : 'no-cache',
    });
    if (req.method === 'HEAD') {
      res.end();
      return true;
    }
    await new Promise<void>((resolve, reject) => {
      createReadStream(file).on('error', reject).on('end', resolve).pipe(res);
    });
    return true;
  };
}
