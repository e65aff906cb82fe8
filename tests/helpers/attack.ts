/**
 * The frame of every attack test: a real server in its own process on a seeded database, a victim
 * that keeps asking `{ __typename }` (no token) and `{ me { id } }` (signed in) while the attack
 * runs, and the survival check afterwards (same pid, still answering).
 *
 * Usage:
 *   const target = await startTarget({ ...buildApp options });
 *   const victim = startVictim(target);
 *   await theAttack(target);
 *   const report = await victim.stop();
 *   expect(report.worstMs).toBeLessThan(BOUND); expect(report.failures).toEqual([]);
 *   await expectSurvived(target);
 *
 * The victim sends from 127.0.0.2 by default, so caps per client address that the attack (from
 * 127.0.0.1) runs into are not the victim's.
 */
import http from 'node:http';
import { expect } from 'vitest';
import { login } from './api.ts';
import type { GraphQLResponse } from './app.ts';
import { createTestDatabase, type TestDatabase } from './db.ts';
import { freePort } from './ports.ts';
import { type ServerProcess, startServerProcess } from './process.ts';

export interface Target {
  db: TestDatabase;
  server: ServerProcess;
  url: string;
  graphqlUrl: string;
  wsUrl: string;
  /** Session tokens of sample users, signed in before the attack starts. */
  tokens: { admin: string; manager: string; clerk: string };
  /** POSTs a GraphQL operation (from `localAddress`, 127.0.0.1 unless given). */
  gql<T = Record<string, any>>(
    query: string,
    variables?: Record<string, unknown>,
    opts?: { token?: string; localAddress?: string; timeoutMs?: number },
  ): Promise<GraphQLResponse<T> & { status: number }>;
  stop(): Promise<void>;
}

/** Low-level POST with an optional source address; resolves with status and parsed JSON (or text). */
export function post(
  url: string,
  body: string,
  opts: { headers?: Record<string, string>; localAddress?: string; timeoutMs?: number } = {},
): Promise<{ status: number; text: string; headers: http.IncomingHttpHeaders }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        localAddress: opts.localAddress,
        agent: false,
        headers: {
          'content-type': 'application/json',
          accept: 'application/graphql-response+json, application/json',
          'content-length': Buffer.byteLength(body),
          ...opts.headers,
        },
        timeout: opts.timeoutMs ?? 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            text: Buffer.concat(chunks).toString(),
            headers: res.headers,
          }),
        );
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${opts.timeoutMs ?? 30_000} ms`)));
    req.on('error', reject);
    req.end(body);
  });
}

/** A seeded database and a server process with these buildApp options (JSON-serialisable). */
export async function startTarget(appOptions: Record<string, unknown> = {}): Promise<Target> {
  const db = await createTestDatabase({ seed: true });
  const server = await startServerProcess(db.url, await freePort(), appOptions);
  const graphqlUrl = `${server.url}/graphql`;
  const gql: Target['gql'] = async (query, variables, opts = {}) => {
    const res = await post(graphqlUrl, JSON.stringify({ query, variables }), {
      headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
      localAddress: opts.localAddress,
      timeoutMs: opts.timeoutMs,
    });
    let parsed: GraphQLResponse<any> = {};
    try {
      parsed = JSON.parse(res.text);
    } catch {
      parsed = { errors: [{ message: `not JSON (${res.status}): ${res.text.slice(0, 200)}` }] };
    }
    return { ...parsed, status: res.status };
  };
  const asTestApp = {
    gql: (q: string, v?: Record<string, unknown>) => gql(q, v, { localAddress: '127.0.0.3' }),
  };
  const tokens = {
    admin: await login(asTestApp as never, 'admin@example.com'),
    manager: await login(asTestApp as never, 'manager.dt@example.com'),
    clerk: await login(asTestApp as never, 'clerk.dt@example.com'),
  };
  return {
    db,
    server,
    url: server.url,
    graphqlUrl,
    wsUrl: graphqlUrl.replace(/^http/, 'ws'),
    tokens,
    gql,
    async stop() {
      server.child.kill('SIGTERM');
      const exited = await Promise.race([
        new Promise<boolean>((r) => server.child.once('exit', () => r(true))),
        new Promise<boolean>((r) => setTimeout(() => r(false), 5000)),
      ]);
      if (!exited && server.child.exitCode === null) await server.kill();
      await db.drop();
    },
  };
}

export interface VictimReport {
  /** Slowest answer (ms) of each kind; a request still open at stop() counts with its age. */
  worstTypenameMs: number;
  worstMeMs: number;
  worstMs: number;
  rounds: number;
  failures: string[];
}

export interface Victim {
  stop(): Promise<VictimReport>;
}

/**
 * Asks `{ __typename }` without a token and `{ me { id } }` with the clerk's token, one after
 * the other, every `everyMs`, until stop(). Each answer must be correct; a timeout or a wrong
 * answer is a failure.
 */
export function startVictim(
  target: Target,
  opts: { everyMs?: number; localAddress?: string; timeoutMs?: number } = {},
): Victim {
  const everyMs = opts.everyMs ?? 200;
  const localAddress = opts.localAddress ?? '127.0.0.2';
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const report: VictimReport = { worstTypenameMs: 0, worstMeMs: 0, worstMs: 0, rounds: 0, failures: [] };
  let running = true;
  let inFlight: { kind: 'typename' | 'me'; since: number } | null = null;
  const timed = async (kind: 'typename' | 'me', fn: () => Promise<string | null>) => {
    const since = performance.now();
    inFlight = { kind, since };
    let problem: string | null;
    try {
      problem = await fn();
    } catch (err) {
      problem = (err as Error).message;
    }
    inFlight = null;
    const ms = performance.now() - since;
    if (kind === 'typename') report.worstTypenameMs = Math.max(report.worstTypenameMs, ms);
    else report.worstMeMs = Math.max(report.worstMeMs, ms);
    if (problem) report.failures.push(`${kind}: ${problem}`);
  };
  const loop = (async () => {
    while (running) {
      await timed('typename', async () => {
        const r = await target.gql('{ __typename }', undefined, { localAddress, timeoutMs });
        return r.data?.__typename === 'Query' ? null : JSON.stringify(r).slice(0, 300);
      });
      await timed('me', async () => {
        const r = await target.gql('{ me { id } }', undefined, {
          token: target.tokens.clerk,
          localAddress,
          timeoutMs,
        });
        return typeof r.data?.me?.id === 'string' ? null : JSON.stringify(r).slice(0, 300);
      });
      report.rounds++;
      await new Promise((r) => setTimeout(r, everyMs));
    }
  })();
  return {
    async stop() {
      running = false;
      const open = inFlight as { kind: 'typename' | 'me'; since: number } | null;
      if (open) {
        const age = performance.now() - open.since;
        if (open.kind === 'typename') report.worstTypenameMs = Math.max(report.worstTypenameMs, age);
        else report.worstMeMs = Math.max(report.worstMeMs, age);
      }
      await loop;
      report.worstMs = Math.max(report.worstTypenameMs, report.worstMeMs);
      return report;
    },
  };
}

/** The server process is the one that started (no crash, no restart) and answers. */
export async function expectSurvived(target: Target): Promise<void> {
  expect(target.server.child.exitCode, 'server process exited').toBeNull();
  expect(target.server.child.signalCode, 'server process was killed').toBeNull();
  const r = await target.gql('{ __typename }', undefined, { localAddress: '127.0.0.4', timeoutMs: 5000 });
  expect(r.data?.__typename).toBe('Query');
  const health = await fetch(`${target.url}/health`);
  expect(health.status).toBe(200);
}

/** Runs `attack` with a victim beside it; asserts the victim's bound and the server's survival. */
export async function underAttack<T>(
  target: Target,
  boundMs: number,
  attack: () => Promise<T>,
): Promise<{ result: T; victim: VictimReport }> {
  const victim = startVictim(target);
  await new Promise((r) => setTimeout(r, 300));
  let result: T;
  try {
    result = await attack();
  } finally {
    await new Promise((r) => setTimeout(r, 300));
  }
  const report = await victim.stop();
  expect(report.failures, `victim failures: ${report.failures.join('; ')}`).toEqual([]);
  expect(report.worstMs, `victim waited ${Math.round(report.worstMs)} ms`).toBeLessThan(boundMs);
  await expectSurvived(target);
  return { result, victim: report };
}
