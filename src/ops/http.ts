/**
 * GET /health, /ready and /metrics, for load balancers and monitoring.
 *
 * - `/health`: the process answers; 200 when its database and change feed work, else 503.
 * - `/ready`: whether to send traffic here (src/ops/ready.ts); 200 `{"ready":true}` or 503.
 * - `/metrics`: Prometheus text (src/ops/metrics.ts).
 *
 * Guarantees:
 * - Internals (component details, migration names, the metrics) go only to a request carrying
 *   `Authorization: Bearer <METRICS_TOKEN>` (compared in constant time) or to a loopback peer
 *   whose request names no forwarded client (`X-Forwarded-For`, `Forwarded`, `X-Real-IP`): a
 *   reverse proxy on the same machine does not make every client "local". Anyone else gets the
 *   status code with a minimal body from /health and /ready, and 403 from /metrics.
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { peerAddress } from '../auth/client-address.ts';
import type { AppServices } from '../context.ts';
import { checkHealth } from '../resolvers/health.ts';
import { createMetrics } from './metrics.ts';
import { checkReadiness } from './ready.ts';

export interface OpsOptions {
  services: AppServices;
  /** Migration folder names this code knows (all must be applied to be ready). */
  migrations: readonly string[];
  /** METRICS_TOKEN; unset: loopback only. */
  token?: string;
  webSockets: () => number;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1)$/;

export function createOps(opts: OpsOptions) {
  const { services } = opts;
  let sse = 0;
  const metrics = createMetrics({
    pool: services.db.pool,
    feed: services.feed,
    loginGuard: services.loginGuard,
    webSockets: opts.webSockets,
    sseStreams: () => sse,
  });
  const token = opts.token ? Buffer.from(`Bearer ${opts.token}`) : null;

  function privileged(req: IncomingMessage): boolean {
    const auth = req.headers.authorization;
    if (token && auth) {
      const given = Buffer.from(auth);
      if (given.length === token.length && timingSafeEqual(given, token)) return true;
    }
    const forwarded = req.headers['x-forwarded-for'] ?? req.headers.forwarded ?? req.headers['x-real-ip'];
    return forwarded === undefined && LOOPBACK.test(peerAddress(req));
  }

  const json = (res: ServerResponse, status: number, body: unknown) => {
    res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
    res.end(JSON.stringify(body));
  };

  return {
    /** Serves /health, /ready and /metrics; false for any other request. */
    async handle(req: IncomingMessage, res: ServerResponse): Promise<boolean> {
      if (req.method !== 'GET' && req.method !== 'HEAD') return false;
      const path = (req.url ?? '/').split('?')[0];
      if (path === '/health') {
        const health = await checkHealth(services, services.healthProbes);
        json(res, health.ok ? 200 : 503, privileged(req) ? health : { ok: health.ok });
        return true;
      }
      if (path === '/ready') {
        const r = await checkReadiness(services.db.pool, services.feed, opts.migrations);
        json(res, r.ready ? 200 : 503, privileged(req) ? r : { ready: r.ready });
        return true;
      }
      if (path === '/metrics') {
        if (!privileged(req)) {
          res.writeHead(403, { 'content-type': 'text/plain' });
          res.end('Forbidden: /metrics needs Authorization: Bearer <METRICS_TOKEN> (or a loopback client)\n');
          return true;
        }
        const text = await metrics.text();
        res.writeHead(200, { 'content-type': metrics.contentType, 'cache-control': 'no-store' });
        res.end(text);
        return true;
      }
      return false;
    },

    /** Counts an SSE response (GraphQL subscription over HTTP) while it is open. */
    trackSse(req: IncomingMessage, res: ServerResponse): void {
      if (!req.headers.accept?.includes('text/event-stream')) return;
      sse++;
      res.once('close', () => {
        sse--;
      });
    },
  };
}
