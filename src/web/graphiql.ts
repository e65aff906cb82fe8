/**
 * GraphiQL as a small page plus cacheable files. @graphql-yoga/render-graphiql ships GraphiQL as
 * strings (script, style, favicon and three Monaco web workers) and inlines all of them into a
 * 9 MB page on every GET; here the same strings are served as files under /graphiql/ whose names
 * carry a hash of their content, so a browser downloads them once (`immutable`, a year) and the
 * page at GET /graphql is about 1 KB. No inline script, so the page runs under a CSP with
 * `script-src 'self'` (src/web/headers.ts). No CDN: everything comes from node_modules.
 *
 * Guarantees: a file's URL changes whenever its content does (SHA-256 in the name); unknown
 * /graphiql/ paths get 404; gzip is offered to clients that accept it, compressed once per process
 * on first request, off the event loop.
 */
import { createHash } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { promisify } from 'node:util';
import { gzip } from 'node:zlib';
import * as bundle from '@graphql-yoga/render-graphiql/graphiql';
import type { GraphiQLOptions } from 'graphql-yoga';
import { setSecurityHeaders } from './headers.ts';

export const GRAPHIQL_PREFIX = '/graphiql/';

interface Asset {
  type: string;
  body: Buffer;
  gzipped?: Promise<Buffer>;
}

interface Assets {
  byPath: Map<string, Asset>;
  urls: { css: string; js: string; env: string; start: string; favicon: string };
}

let built: Assets | undefined;

/** The files, named by content hash; built on first use (hashing the 9 MB script takes ~30 ms). */
function assets(): Assets {
  if (built) return built;
  const byPath = new Map<string, Asset>();
  const add = (name: string, ext: string, type: string, body: Buffer) => {
    const hash = createHash('sha256').update(body).digest('hex').slice(0, 16);
    const url = `${GRAPHIQL_PREFIX}${name}.${hash}.${ext}`;
    byPath.set(url, { type, body });
    return url;
  };
  const js = 'text/javascript; charset=utf-8';
  const workers = {
    editorWorkerService: add('editor.worker', 'js', js, Buffer.from(bundle.editorWorkerService)),
    json: add('json.worker', 'js', js, Buffer.from(bundle.jsonWorker)),
    graphql: add('graphql.worker', 'js', js, Buffer.from(bundle.graphqlWorker)),
  };
  // What render-graphiql's inline script does before and after loading GraphiQL, as files.
  const env = `self.MonacoEnvironment = {
  globalAPI: false,
  getWorkerUrl: function (moduleId, label) { return ${JSON.stringify(workers)}[label]; },
};\n`;
  const start = `YogaGraphiQL.renderYogaGraphiQL(
  document.querySelector('#root'),
  JSON.parse(document.getElementById('graphiql-options').textContent),
);\n`;
  const favicon = /^data:([^;,]+);base64,(.*)$/.exec(bundle.favicon);
  built = {
    byPath,
    urls: {
      css: add('graphiql', 'css', 'text/css; charset=utf-8', Buffer.from(bundle.css)),
      js: add('graphiql', 'js', js, Buffer.from(bundle.js)),
      env: add('env', 'js', js, Buffer.from(env)),
      start: add('start', 'js', js, Buffer.from(start)),
      favicon: favicon
        ? add('favicon', 'ico', favicon[1] ?? 'image/x-icon', Buffer.from(favicon[2] ?? '', 'base64'))
        : 'data:,',
    },
  };
  return built;
}

const escapeHtml = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Yoga's `renderGraphiQL`: the page that loads GraphiQL's files; the options travel as JSON data. */
export function renderGraphiQLPage(opts: GraphiQLOptions = {}): string {
  const { urls } = assets();
  const options = JSON.stringify(opts).replace(/</g, '\\u003c');
  return `<!doctype html>
<html lang="en">
  <head>
    <meta charset="utf-8" />
    <title>${escapeHtml(opts.title ?? 'GraphiQL')}</title>
    <link rel="icon" href="${escapeHtml(opts.favicon ?? urls.favicon)}" />
    <link rel="stylesheet" href="${urls.css}" />
  </head>
  <body id="body" class="no-focus-outline">
    <noscript>You need to enable JavaScript to run GraphiQL.</noscript>
    <div id="root"></div>
    <script type="application/json" id="graphiql-options">${options}</script>
    <script src="${urls.env}"></script>
    <script src="${urls.js}"></script>
    <script src="${urls.start}"></script>
  </body>
</html>
`;
}

/** Answers GET/HEAD /graphiql/<file> (true), or leaves the request alone (false). */
export function serveGraphiQLAsset(req: IncomingMessage, res: ServerResponse): boolean {
  const pathname = new URL(req.url ?? '/', 'http://localhost').pathname;
  if (!pathname.startsWith(GRAPHIQL_PREFIX)) return false;
  setSecurityHeaders(req, res, 'graphiql');
  const asset = req.method === 'GET' || req.method === 'HEAD' ? assets().byPath.get(pathname) : undefined;
  if (!asset) {
    res.writeHead(404, { 'content-type': 'text/plain; charset=utf-8' }).end('Not found');
    return true;
  }
  const send = (body: Buffer, encoding?: string) => {
    res.writeHead(200, {
      'content-type': asset.type,
      'content-length': body.length,
      'cache-control': 'public, max-age=31536000, immutable',
      vary: 'Accept-Encoding',
      ...(encoding ? { 'content-encoding': encoding } : {}),
    });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
  if (!/\bgzip\b/.test(String(req.headers['accept-encoding'] ?? '')) || asset.body.length < 1024) {
    send(asset.body);
    return true;
  }
  asset.gzipped ??= promisify(gzip)(asset.body);
  asset.gzipped.then(
    (body) => send(body, 'gzip'),
    () => send(asset.body),
  );
  return true;
}
