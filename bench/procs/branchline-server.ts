/**
 * The Branchline server under test, alone in its own process: `buildApp()` on 127.0.0.1 and a
 * free port, exactly as `npm start` builds it. Answers `status` (open feed subscriptions, memory)
 * for the orchestrator; with `--cpu-prof` in its node arguments it writes a profile on stop.
 */
import { buildApp } from '../../src/app.ts';
import { createLogger } from '../../src/logger.ts';
import { serveParent } from '../lib/ipc.ts';

const databaseUrl = process.env.BENCH_DATABASE_URL;
if (!databaseUrl) throw new Error('BENCH_DATABASE_URL is not set');
const app = buildApp({
  databaseUrl,
  log: createLogger(process.env.BENCH_LOG_LEVEL ?? 'warn'),
  poolSize: Number(process.env.BENCH_POOL_SIZE ?? 16),
});
const { port } = await app.start(0, '127.0.0.1');

serveParent(
  {
    status: () => ({
      active: app.services.feed.active,
      opened: app.services.feed.opened,
      memory: process.memoryUsage(),
      cpu: process.cpuUsage(),
    }),
    gc: () => {
      (globalThis as { gc?: () => void }).gc?.();
      return process.memoryUsage();
    },
  },
  { port, pid: process.pid },
  () => app.stop(),
);
