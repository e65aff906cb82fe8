/**
 * Builds the web app (web/ -> web/dist) with Vite's JS API when the build is missing or older than
 * any of its sources. `npm start` calls it before serving; the browser tests call it once per run.
 * Concurrent callers in one process share one build.
 */
import { open, readdir, stat, unlink } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Logger } from '../logger.ts';

export const webRoot = fileURLToPath(new URL('../../web/', import.meta.url));
export const webDist = path.join(webRoot, 'dist');

/** Newest modification time (ms) of the files under `dir`, skipping dist and node_modules. */
async function newestMtime(dir: string): Promise<number> {
  let newest = 0;
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    if (entry.name === 'dist' || entry.name === 'node_modules' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    const time = entry.isDirectory() ? await newestMtime(full) : (await stat(full)).mtimeMs;
    if (time > newest) newest = time;
  }
  return newest;
}

/** True when web/dist/index.html is missing or older than a file under web/. */
export async function webBuildIsStale(): Promise<boolean> {
  const built = await stat(path.join(webDist, 'index.html')).then(
    (s) => s.mtimeMs,
    () => 0,
  );
  return built === 0 || (await newestMtime(webRoot)) > built;
}

let running: Promise<void> | undefined;

/**
 * One build at a time across processes (a server starting while the browser tests build): an
 * exclusive lock file beside the sources; a lock older than two minutes is a crashed builder's.
 */
async function withBuildLock<T>(fn: () => Promise<T>): Promise<T> {
  const lock = path.join(webRoot, '.build.lock');
  for (;;) {
    try {
      await (await open(lock, 'wx')).close();
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const age = await stat(lock).then(
        (s) => Date.now() - s.mtimeMs,
        () => 0,
      );
      if (age > 120_000) await unlink(lock).catch(() => {});
      else await new Promise((r) => setTimeout(r, 200));
    }
  }
  try {
    return await fn();
  } finally {
    await unlink(lock).catch(() => {});
  }
}

/** Builds web/dist unless it is up to date (or `force`). */
export function ensureWebBuild(log: Logger, opts: { force?: boolean } = {}): Promise<void> {
  running ??= withBuildLock(async () => {
    if (!opts.force && !(await webBuildIsStale())) {
      log.debug({ dist: webDist }, 'web app build is up to date');
      return;
    }
    const started = Date.now();
    log.info({ dist: webDist }, 'building the web app');
    const { build } = await import('vite');
    // Vite and the React plugin choose development or production transforms from NODE_ENV, which
    // a test runner sets to "test": a build is always a production build.
    const previous = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await build({ root: webRoot, configFile: path.join(webRoot, 'vite.config.ts'), logLevel: 'warn' });
    } finally {
      if (previous === undefined) delete process.env.NODE_ENV;
      else process.env.NODE_ENV = previous;
    }
    log.info({ ms: Date.now() - started }, 'web app built');
  }).finally(() => {
    running = undefined;
  });
  return running;
}
