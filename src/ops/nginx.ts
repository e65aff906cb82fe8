/**
 * nginx in front of several server processes: the configuration (README shows the same) and a
 * foreground nginx run from a temporary folder, for `npm run cluster` and the tests.
 *
 * Guarantees of the configuration:
 * - WebSockets pass (HTTP/1.1 with the Upgrade and Connection headers), SSE responses are not
 *   buffered, and long-lived ones are not cut for an hour.
 * - Passive health checks only (open-source nginx has no active ones): a process that refuses
 *   connections, times out, or answers 502/503 is taken out for `failTimeout` after `maxFails`
 *   failures, and the request goes to the next process (`proxy_next_upstream`) as long as nothing
 *   was sent to the failed one; a POST already sent is never repeated (mutations are retried by
 *   clients with their idempotency key instead). `/ready` is for active checkers (HAProxy, a
 *   Kubernetes readiness probe, nginx Plus `health_check uri=/ready`).
 * - `/metrics` is refused at the proxy; scrape each process directly.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface NginxSettings {
  /** Where nginx listens, e.g. `127.0.0.1:4000` or `80`. */
  listen: string;
  /** The server processes, `host:port` each. */
  upstreams: string[];
  /** Folder for the pid file, logs and temporary files (created). */
  dir: string;
  maxFails?: number;
  failTimeoutSeconds?: number;
}

/** The nginx binary, or null when nginx is not installed. */
export function findNginx(): string | null {
  for (const p of ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx', '/usr/local/bin/nginx']) {
    if (existsSync(p)) return p;
  }
  return null;
}

/** The `http { ... }` part: upstream and server blocks (what a site file under sites-enabled holds). */
export function nginxSite(
  s: Pick<NginxSettings, 'listen' | 'upstreams' | 'maxFails' | 'failTimeoutSeconds'>,
): string {
  const maxFails = s.maxFails ?? 1;
  const failTimeout = s.failTimeoutSeconds ?? 2;
  return `map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      '';
}

upstream branchline {
${s.upstreams.map((u) => `    server ${u} max_fails=${maxFails} fail_timeout=${failTimeout}s;`).join('\n')}
    keepalive 32;
}

server {
    listen ${s.listen};
    client_max_body_size 2m;

    location = /metrics {
        return 403;
    }

    location / {
        proxy_pass http://branchline;
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        proxy_buffering off;
        proxy_request_buffering off;
        proxy_read_timeout 1h;
        proxy_send_timeout 1h;
        proxy_connect_timeout 2s;
        proxy_next_upstream error timeout http_502 http_503;
        proxy_next_upstream_tries 3;
        proxy_next_upstream_timeout 10s;
    }
}
`;
}

/** A whole nginx.conf for a foreground nginx that keeps everything in `dir`. */
export function nginxConfig(s: NginxSettings): string {
  const d = path.resolve(s.dir);
  const indent = (text: string) =>
    text
      .split('\n')
      .map((l) => (l ? `    ${l}` : l))
      .join('\n');
  return `daemon off;
worker_processes 1;
pid ${d}/nginx.pid;
error_log ${d}/error.log warn;

events {
    worker_connections 4096;
}

http {
    access_log off;
    client_body_temp_path ${d}/client_body;
    proxy_temp_path ${d}/proxy;
    fastcgi_temp_path ${d}/fastcgi;
    uwsgi_temp_path ${d}/uwsgi;
    scgi_temp_path ${d}/scgi;

${indent(nginxSite(s))}
}
`;
}

/** Writes the configuration into `dir` and starts nginx in the foreground (kill it to stop). */
export async function startNginx(binary: string, s: NginxSettings): Promise<ChildProcess> {
  await mkdir(s.dir, { recursive: true });
  const file = path.join(s.dir, 'nginx.conf');
  await writeFile(file, nginxConfig(s));
  const child = spawn(binary, ['-c', file, '-p', s.dir, '-e', path.join(s.dir, 'error.log')], {
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let err = '';
  child.stderr?.on('data', (d) => {
    err = (err + d).slice(-2000);
  });
  // nginx reports a bad configuration by exiting at once.
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.off('exit', onExit);
      resolve();
    }, 300);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`nginx exited (${code}): ${err}`));
    };
    child.once('exit', onExit);
  });
  return child;
}
