/**
 * Load generators of the orchestrator: a keep-alive GraphQL-over-HTTP client, the sequence
 * numbers that tag every write (`b:<seq>` in the row's description) with the time its commit
 * was acknowledged, and two drivers: paced (open loop, fixed rate) and closed loop (N
 * concurrent clients as fast as they go).
 */
import http from 'node:http';
import { now, sleep } from './stats.ts';

/** Seq -> commit acknowledgement time (ms, see stats.now). */
export class Seqs {
  next = 1;
  private times = new Float64Array(1 << 16);

  take(): number {
    const seq = this.next++;
    if (seq >= this.times.length) {
      const bigger = new Float64Array(this.times.length * 2);
      bigger.set(this.times);
      this.times = bigger;
    }
    return seq;
  }

  committed(seq: number, at: number): void {
    this.times[seq] = at;
  }

  /** Commit times of [from, to), indexed from 0 (what subscriber workers receive). */
  slice(from: number, to: number): Float64Array {
    const out = new Float64Array(Math.max(0, to - from) + 1);
    out.set(this.times.subarray(from, Math.min(to, this.times.length)));
    return out;
  }
}

export interface GraphqlClient {
  request<T = Record<string, unknown>>(query: string, variables: Record<string, unknown>): Promise<T>;
  close(): void;
}

/** POSTs to `<url>/graphql` over keep-alive connections (at most `maxSockets` at once). */
export function graphqlClient(baseUrl: string, token: string, maxSockets: number): GraphqlClient {
  const agent = new http.Agent({ keepAlive: true, maxSockets });
  const url = new URL('/graphql', baseUrl);
  return {
    request<T>(query: string, variables: Record<string, unknown>) {
      const body = JSON.stringify({ query, variables });
      return new Promise<T>((resolve, reject) => {
        const req = http.request(
          url,
          {
            method: 'POST',
            agent,
            headers: {
              'content-type': 'application/json',
              accept: 'application/graphql-response+json, application/json',
              authorization: `Bearer ${token}`,
              'content-length': Buffer.byteLength(body),
            },
          },
          (res) => {
            const chunks: Buffer[] = [];
            res.on('data', (c: Buffer) => chunks.push(c));
            res.on('end', () => {
              const text = Buffer.concat(chunks).toString('utf8');
              try {
                const json = JSON.parse(text) as { data?: T; errors?: { message: string }[] };
                if (json.errors?.length || !json.data) {
                  reject(new Error(`GraphQL error: ${text.slice(0, 300)}`));
                } else {
                  resolve(json.data);
                }
              } catch {
                reject(new Error(`HTTP ${res.statusCode}: ${text.slice(0, 300)}`));
              }
            });
            res.on('error', reject);
          },
        );
        req.on('error', reject);
        req.end(body);
      });
    },
    close: () => agent.destroy(),
  };
}

export interface PacedResult {
  issued: number;
  failed: number;
  /** Writes that could not start on time because `maxInFlight` were still running. */
  late: number;
  errors: string[];
}

/**
 * Open loop: starts `write()` every 1/rate s for `durationMs`, whether or not earlier writes have
 * finished (at most `maxInFlight` at once), then waits for the stragglers.
 */
export async function paced(
  rate: number,
  durationMs: number,
  maxInFlight: number,
  write: () => Promise<void>,
): Promise<PacedResult> {
  const result: PacedResult = { issued: 0, failed: 0, late: 0, errors: [] };
  const running = new Set<Promise<void>>();
  const start = now();
  const total = Math.round((rate * durationMs) / 1000);
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / rate;
    const wait = due - now();
    if (wait > 1) await sleep(wait);
    if (running.size >= maxInFlight) {
      result.late++;
      await Promise.race(running);
    }
    const p: Promise<void> = write()
      .catch((err: Error) => {
        result.failed++;
        if (result.errors.length < 5) result.errors.push(err.message);
      })
      .finally(() => running.delete(p));
    running.add(p);
    result.issued++;
  }
  await Promise.all(running);
  return result;
}

export interface LoopResult {
  ops: number;
  failed: number;
  elapsedMs: number;
  perSecond: number;
  errors: string[];
}

/** Closed loop: `concurrency` clients each run `op(client)` back to back for `durationMs`. */
export async function closedLoop(
  concurrency: number,
  durationMs: number,
  op: (client: number) => Promise<void>,
): Promise<LoopResult> {
  const result: LoopResult = { ops: 0, failed: 0, elapsedMs: 0, perSecond: 0, errors: [] };
  const start = now();
  const end = start + durationMs;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, client) => {
      while (now() < end) {
        try {
          await op(client);
          result.ops++;
        } catch (err) {
          result.failed++;
          if (result.errors.length < 5) result.errors.push((err as Error).message.slice(0, 300));
          await sleep(5);
        }
      }
    }),
  );
  result.elapsedMs = now() - start;
  result.perSecond = (result.ops * 1000) / result.elapsedMs;
  return result;
}
