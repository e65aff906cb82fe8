/**
 * The raw baseline: one `pg` client LISTENing on `bench_row` (the plain NOTIFY trigger sends the
 * whole row) and a bare `ws` server that broadcasts each payload, as received, to every client.
 * No GraphQL, no change log, no authorization, no resume: the floor Branchline is compared with.
 *
 * Encoded once, like Branchline's grouped fan-out: each payload becomes ONE buffer holding the
 * whole WebSocket frame (header and text), and that same buffer is written to every client's
 * socket (one write each; `ws.send` only for a socket whose sender has something queued).
 */
import { once } from 'node:events';
import type { Socket } from 'node:net';
import pg from 'pg';
import { WebSocket, WebSocketServer } from 'ws';
import { serveParent } from '../lib/ipc.ts';

interface WsInternals {
  _socket?: Socket;
  _sender?: { _state?: number; _queue?: unknown[] };
}

/** The TCP socket of a client when a frame may be written to it directly (as fanout.ts checks). */
function rawSocket(ws: WebSocket): Socket | null {
  const w = ws as unknown as WsInternals;
  const sender = w._sender;
  if (!w._socket || !sender || sender._state !== 0 || sender._queue?.length || ws.extensions !== '') {
    return null;
  }
  return w._socket;
}

/** One unmasked, final text frame (RFC 6455 5.2) holding `text`: header and payload in one buffer. */
function textFrame(text: string): Buffer {
  const n = Buffer.byteLength(text);
  const hl = n < 126 ? 2 : n < 65536 ? 4 : 10;
  const buf = Buffer.allocUnsafe(hl + n);
  buf[0] = 0x81;
  if (n < 126) {
    buf[1] = n;
  } else if (n < 65536) {
    buf[1] = 126;
    buf.writeUInt16BE(n, 2);
  } else {
    buf[1] = 127;
    buf.writeUInt32BE(0, 2);
    buf.writeUIntBE(n, 4, 6);
  }
  buf.write(text, hl, n, 'utf8');
  return buf;
}

const databaseUrl = process.env.BENCH_DATABASE_URL;
if (!databaseUrl) throw new Error('BENCH_DATABASE_URL is not set');
const client = new pg.Client({ connectionString: databaseUrl });
await client.connect();
const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
await once(wss, 'listening');
client.on('notification', (n) => {
  const frame = textFrame(n.payload ?? '');
  for (const ws of wss.clients) {
    if (ws.readyState !== WebSocket.OPEN) continue;
    const raw = rawSocket(ws);
    if (raw) raw.write(frame);
    else ws.send(n.payload ?? '');
  }
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
