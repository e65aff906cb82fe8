/**
 * The change feed's wake-up: one pg-listen connection per server process, LISTENing on the
 * `change_log` channel. It carries no data and decides nothing; it only tells the change-log
 * reader "look now".
 *
 * Guarantees:
 * - Never gives up: pg-listen runs with `retryTimeout: Infinity` and a capped backoff, and when
 *   pg-listen itself fails (its re-initialisation errors, a first connect that fails, a
 *   connection that goes silent) the subscriber is thrown away and rebuilt.
 * - Never crashes the process: the `error` handler is attached before anything else.
 * - Notices half-open connections: pg `query_timeout` plus keep-alive plus `paranoidChecking`
 *   make a dead socket fail a query, and a self-NOTIFY heartbeat sent through the main pool
 *   must come back on this connection; when nothing is heard for `silentMs` the subscriber is
 *   rebuilt.
 * - Calls `onWake` on every notification and every (re)connect, so the reader reads the log
 *   right after an outage; anything committed while the connection was down is found by that read.
 *
 * Not guaranteed: that every NOTIFY arrives (they are lost while disconnected). The reader's
 * safety timer covers that; nothing here is needed for correctness, only for latency.
 */
import { randomUUID } from 'node:crypto';
import pgListen from 'pg-listen';
import type { Logger } from '../logger.ts';

export const FEED_CHANNEL = 'change_log';

type Subscriber = ReturnType<typeof pgListen.default>;

export interface WakeupOptions {
  connectionString: string;
  log: Logger;
  onWake: (reason: 'notify' | 'connected') => void;
  /** Sends `NOTIFY change_log, payload` from another connection (the main pool). */
  sendHeartbeat: (payload: string) => Promise<void>;
  heartbeatMs: number;
  /** Rebuild the subscriber when nothing (not even our heartbeat) was heard for this long. */
  silentMs: number;
}

export interface WakeupStatus {
  connected: boolean;
  lastHeardMsAgo: number;
  rebuilds: number;
  /** Connection losses pg-listen reconnected by itself (rebuilds not included). */
  reconnects: number;
  /** When LISTEN last (re)started (epoch ms; 0: never). */
  connectedAt: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Wakeup {
  private readonly log: Logger;
  private readonly heartbeatTag = `hb:${randomUUID()}`;
  private subscriber: Subscriber | undefined;
  private connected = false;
  private lastHeard = Date.now();
  private lastBuilt = 0;
  private rebuilds = 0;
  private reconnects = 0;
  private connectedAt = 0;
  private stopped = false;
  private building = false;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly opts: WakeupOptions) {
    this.log = opts.log.child({ module: 'feed-wakeup' });
  }

  start(): void {
    this.stopped = false;
    void this.rebuild('start');
    this.timer = setInterval(() => this.tick(), this.opts.heartbeatMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.dispose();
  }

  status(): WakeupStatus {
    return {
      connected: this.connected,
      lastHeardMsAgo: Date.now() - this.lastHeard,
      rebuilds: this.rebuilds,
      reconnects: this.reconnects,
      connectedAt: this.connectedAt,
    };
  }

  private tick(): void {
    if (this.stopped) return;
    this.opts.sendHeartbeat(this.heartbeatTag).catch((err: Error) => {
      this.log.debug({ err: err.message }, 'heartbeat NOTIFY failed');
    });
    const silentFor = Date.now() - this.lastHeard;
    if (
      !this.building &&
      silentFor > this.opts.silentMs &&
      Date.now() - this.lastBuilt > this.opts.silentMs
    ) {
      this.log.warn({ silentFor }, 'listener heard nothing (not even its heartbeat); rebuilding it');
      void this.rebuild('silent');
    }
  }

  private heard(): void {
    this.lastHeard = Date.now();
  }

  private async dispose(): Promise<void> {
    const old = this.subscriber;
    this.subscriber = undefined;
    this.connected = false;
    if (!old) return;
    old.events.removeAllListeners('notification');
    old.events.removeAllListeners('connected');
    old.events.removeAllListeners('reconnect');
    // A half-open socket can make end() wait for ever: do not wait long.
    await Promise.race([old.close().catch(() => {}), sleep(1000)]);
  }

  private async rebuild(reason: string): Promise<void> {
    if (this.building || this.stopped) return;
    this.building = true;
    this.lastBuilt = Date.now();
    try {
      if (this.subscriber) this.rebuilds++;
      await this.dispose();
      for (let attempt = 0; !this.stopped; attempt++) {
        const sub = this.create();
        this.subscriber = sub;
        try {
          await sub.connect();
          await sub.listenTo(FEED_CHANNEL);
          if (this.stopped) break;
          this.connected = true;
          this.connectedAt = Date.now();
          this.heard();
          this.log.info({ reason }, 'listening on change_log');
          this.opts.onWake('connected');
          return;
        } catch (err) {
          this.log.warn({ err: (err as Error).message, attempt }, 'listener could not connect; retrying');
          await this.dispose();
          await sleep(Math.min(100 * 2 ** attempt, 2000));
        }
      }
      await this.dispose();
    } finally {
      this.building = false;
      this.lastBuilt = Date.now();
    }
  }

  private create(): Subscriber {
    const sub = pgListen.default(
      {
        connectionString: this.opts.connectionString,
        application_name: 'branchline-listener',
        keepAlive: true,
        keepAliveInitialDelayMillis: 5_000,
        connectionTimeoutMillis: 5_000,
        query_timeout: 5_000,
      },
      {
        retryTimeout: Number.POSITIVE_INFINITY,
        retryInterval: (attempt) => Math.min(100 * 2 ** attempt, 2000),
        paranoidChecking: Math.max(1000, Math.floor(this.opts.heartbeatMs)),
        parse: (payload: string) => payload,
        serialize: (payload: unknown) => String(payload),
      },
    );
    // First, before anything can fail: pg-listen emits `error` when its re-initialisation fails
    // and would crash the process without a listener.
    sub.events.on('error', (err) => {
      if (this.subscriber !== sub || this.stopped) return;
      this.log.warn({ err: err.message }, 'listener failed; rebuilding it');
      this.connected = false;
      setTimeout(() => void this.rebuild('error'), 200).unref();
    });
    sub.events.on('notification', () => {
      this.heard();
      this.opts.onWake('notify');
    });
    sub.events.on('reconnect', (attempt) => {
      if (this.connected) this.reconnects++;
      this.connected = false;
      this.log.info({ attempt }, 'listener reconnecting');
    });
    sub.events.on('connected', () => {
      // During a build, connected means LISTEN has not run yet: rebuild() reports it afterwards.
      if (this.subscriber !== sub || this.building) return;
      this.connected = true;
      this.connectedAt = Date.now();
      this.heard();
      this.opts.onWake('connected');
    });
    return sub;
  }
}
