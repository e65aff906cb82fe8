/**
 * The Branchline server under test, alone in its own process: `buildApp()` on 127.0.0.1 and a
 * free port, exactly as `npm start` builds it. Answers `status` (open feed subscriptions, memory)
 * for the orchestrator, and CPU profiles of the windows it asks for (`--profile`); with `--cpu-prof`
 * in its node arguments it writes a profile of its whole life on stop.
 */
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { buildApp } from '../../src/app.ts';
import { createLogger } from '../../src/logger.ts';
import { serveParent } from '../lib/ipc.ts';

const databaseUrl = process.env.BENCH_DATABASE_URL;
if (!databaseUrl) throw new Error('BENCH_DATABASE_URL is not set');
const app = buildApp({
  databaseUrl,
  log: createLogger(process.env.BENCH_LOG_LEVEL ?? 'warn'),
  poolSize: Number(process.env.BENCH_POOL_SIZE ?? 16),
  // Thousands of subscribers share one benchmark user and one address: the fair-share caps
  // (issue 9) would refuse all but the first few; they are not what is measured here.
  shares: {
    wsConnectionsPerUser: 1_000_000,
    wsConnectionsPerAddress: 1_000_000,
    subscriptionsPerUser: 1_000_000,
  },
});
const { port } = await app.start(0, '127.0.0.1');
// CPU profiles of chosen windows only (a measured round), on request of the orchestrator.
const inspector = new Session();
inspector.connect();

serveParent(
  {
    status: () => ({
      active: app.services.feed.active,
      opened: app.services.feed.opened,
      memory: process.memoryUsage(),
      cpu: process.cpuUsage(),
    }),
    profileStart: async () => {
      await inspector.post('Profiler.enable');
      await inspector.post('Profiler.setSamplingInterval', { interval: 200 });
      await inspector.post('Profiler.start');
      return { ok: true };
    },
    profileStop: async (msg) => {
      const { profile } = await inspector.post('Profiler.stop');
      await writeFile(msg.file as string, JSON.stringify(profile));
      return { file: msg.file };
    },
    gc: () => {
      (globalThis as { gc?: () => void }).gc?.();
      return process.memoryUsage();
    },
  },
  { port, pid: process.pid },
  () => app.stop(),
);
