/** Starts tests/helpers/server-process.ts as a child process and waits until it listens. */
import { type ChildProcess, spawn } from 'node:child_process';
import path from 'node:path';

export interface ServerProcess {
  url: string;
  /** The server's own pid (the child is node itself, not a wrapper). */
  pid: number;
  child: ChildProcess;
  /** SIGKILL and wait for the exit. */
  kill(): Promise<void>;
}

const ROOT = path.resolve(import.meta.dirname, '../..');

/** `appOptions` (JSON-serialisable buildApp options) reach the child as BRANCHLINE_APP_OPTIONS. */
export function startServerProcess(
  databaseUrl: string,
  port: number,
  appOptions: Record<string, unknown> = {},
): Promise<ServerProcess> {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', 'tests/helpers/server-process.ts', databaseUrl, String(port)],
    {
      cwd: ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, BRANCHLINE_APP_OPTIONS: JSON.stringify(appOptions) },
    },
  );
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server process did not start: ${err}`));
    }, 30_000);
    child.stderr?.on('data', (d) => {
      err = (err + d).slice(-4000);
    });
    child.stdout?.on('data', (d) => {
      out += d;
      const line = out.split('\n')[0];
      if (!out.includes('\n') || !line) return;
      clearTimeout(timer);
      const { url, pid } = JSON.parse(line) as { url: string; pid: number };
      resolve({
        url,
        pid,
        child,
        async kill() {
          child.kill('SIGKILL');
          await exited;
        },
      });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server process exited (${code}): ${err}`));
    });
  });
}
