/**
 * Child processes of a benchmark run (the servers under test and the subscriber workers) and a
 * small request/response protocol over Node's IPC channel.
 *
 * - Every child is `node --import tsx <script>`, forked with the `advanced` serialization so
 *   typed arrays and large lists cross the channel cheaply.
 * - A child announces itself with `{ type: 'ready', ... }`; each request carries an id and gets
 *   exactly one reply. A child that exits fails every pending request at once.
 * - `stop()` asks politely, then kills the child after a grace period: nothing outlives a run.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const BENCH_DIR = path.dirname(path.dirname(fileURLToPath(import.meta.url)));

interface Reply {
  rid: number;
  ok: boolean;
  result?: unknown;
  error?: string;
}

export class Child {
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private exited = false;
  readonly exit: Promise<number | null>;

  private constructor(
    readonly name: string,
    readonly proc: ChildProcess,
  ) {
    this.exit = new Promise((resolve) => {
      proc.once('exit', (code) => {
        this.exited = true;
        for (const p of this.pending.values()) p.reject(new Error(`${name} exited (code ${code})`));
        this.pending.clear();
        resolve(code);
      });
    });
    proc.on('message', (m: Reply) => {
      const p = this.pending.get(m.rid);
      if (!p) return;
      this.pending.delete(m.rid);
      if (m.ok) p.resolve(m.result);
      else p.reject(new Error(`${name}: ${m.error}`));
    });
  }

  /** Forks `bench/<script>` and waits for its `ready` message (which is returned). */
  static async start<R = Record<string, unknown>>(
    name: string,
    script: string,
    opts: { env?: Record<string, string>; nodeArgs?: string[]; timeoutMs?: number } = {},
  ): Promise<{ child: Child; ready: R }> {
    const proc = fork(path.join(BENCH_DIR, script), [], {
      execArgv: ['--import', 'tsx', ...(opts.nodeArgs ?? [])],
      env: { ...process.env, ...opts.env },
      serialization: 'advanced',
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    });
    const child = new Child(name, proc);
    const ready = await new Promise<R>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${name} did not start`)), opts.timeoutMs ?? 60_000);
      const onMessage = (m: { type?: string }) => {
        if (m.type !== 'ready') return;
        clearTimeout(timer);
        proc.off('message', onMessage);
        resolve(m as R);
      };
      proc.on('message', onMessage);
      void child.exit.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${name} exited before it was ready (code ${code})`));
      });
    });
    return { child, ready };
  }

  request<T>(type: string, body: Record<string, unknown> = {}, timeoutMs = 120_000): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`${this.name} has exited`));
    const rid = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(rid);
        reject(new Error(`${this.name}: ${type} timed out after ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(rid, {
        resolve: (v) => {
          clearTimeout(timer);
          resolve(v as T);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
      this.proc.send({ ...body, type, rid });
    });
  }

  /** Resident set size of the child in bytes, from /proc. */
  rss(): number {
    return rssOf(this.proc.pid);
  }

  async stop(graceMs = 10_000): Promise<void> {
    if (this.exited) return;
    await this.request('stop', {}, graceMs).catch(() => {});
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), graceMs);
    await this.exit;
    clearTimeout(timer);
  }
}

export function rssOf(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    const kb = /VmRSS:\s+(\d+) kB/.exec(status)?.[1];
    return kb ? Number(kb) * 1024 : Number.NaN;
  } catch {
    return Number.NaN;
  }
}

type Handler = (msg: Record<string, unknown>) => unknown;

/**
 * In a child: answers requests with `handlers[type]`, and exits after replying to `stop`
 * (`onStop` runs first). Sends `ready` with `readyInfo`.
 */
export function serveParent(
  handlers: Record<string, Handler>,
  readyInfo: Record<string, unknown>,
  onStop: () => Promise<void> = async () => {},
): void {
  const send = (m: unknown) => process.send?.(m);
  process.on('message', async (raw: Record<string, unknown>) => {
    const rid = raw.rid as number;
    const type = raw.type as string;
    if (type === 'stop') {
      await onStop().catch(() => {});
      send({ rid, ok: true });
      setTimeout(() => process.exit(0), 50);
      return;
    }
    const handler = handlers[type];
    try {
      if (!handler) throw new Error(`unknown request ${type}`);
      send({ rid, ok: true, result: await handler(raw) });
    } catch (err) {
      send({ rid, ok: false, error: err instanceof Error ? (err.stack ?? err.message) : String(err) });
    }
  });
  // The parent went away: do not linger.
  process.on('disconnect', () => process.exit(0));
  send({ type: 'ready', ...readyInfo });
}
