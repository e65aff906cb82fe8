/**
 * The raw baseline: one `pg` client LISTENing on `bench_row` (the plain NOTIFY trigger sends the
 * whole row) and a bare `ws` server that broadcasts each payload, as received, to every client.
 * No GraphQL, no change log, no authorization, no resume: the floor Branchline is compared with.
 */
import { once } from 'node:events';
import pg from 'pg';
import { WebSocketServer } from 'ws';
import { serveParent } from '../lib/ipc.ts';

const databaseUrl = process.env.BENCH_DATABASE_URL;
if (!databaseUrl) throw new Error('BENCH_DATABASE_URL is not set');
const client = new pg.Client({ connectionString: databaseUrl });
await client.connect();
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
await once(wss, 'listening');
client.on('notification', (n) => {
  const payload = n.payload ?? '';
  for (const ws of wss.clients) ws.send(payload);
});
await client.query('LISTEN bench_row');
const address = wss.address();
const port = typeof address === 'object' && address ? address.port : 0;

serveParent(
  {
    status: () => ({
      active: wss.clients.size,
      opened: wss.clients.size,
      memory: process.memoryUsage(),
      cpu: process.cpuUsage(),
    }),
    gc: () => {
      (globalThis as { gc?: () => void }).gc?.();
      return process.memoryUsage();
    },
  },
  { port, pid: process.pid },
  async () => {
    for (const ws of wss.clients) ws.terminate();
    await new Promise<void>((r) => wss.close(() => r()));
    await client.end();
  },
);
