/**
 * Grouped fan-out for graphql-ws subscriptions: subscriptions with the same document, the same
 * variables (apart from the `after` cursor) and the same access scope form a group. The group
 * runs ONE subscription: each event is executed once and serialized once, and the same payload
 * bytes are written to every socket of the group, framed with each client's operation id.
 *
 * Guarantees (on top of stream.ts):
 * - A member gets what a subscription of its own would get: with a cursor it first catches up
 *   from the log (executed for it alone) up to the position where it joined; the group's live
 *   events wait meanwhile and are released afterwards; nothing at or before the last position
 *   sent to it is sent again; without a cursor it starts at the live end.
 * - Writing never waits for a socket, so no member delays another. A member whose socket has
 *   more than `maxBufferedBytes` unsent (behind a burst) continues from the log, paced by what its
 *   client reads; one whose client reads nothing for `STALL_MS` ends with SUBSCRIBER_TOO_SLOW.
 * - Errors (an expired cursor, also one that pruning overtakes during catch-up, the group's
 *   stream failing) end the members with a graphql-ws `error` message carrying
 *   `extensions.code`, and the member stops counting. A catch-up read retries only a passing
 *   connection problem, for at most `RETRY_FOR_MS`.
 * - Anything that is not a single root field among `fields`, has no viewer or has a literal
 *   cursor is not grouped (the caller runs it the ordinary way, one execution per subscriber).
 * - The cursor is the `after` variable's value as graphql coerces it (a default value in the
 *   operation counts when the client sends none).
 * - Each member follows its own rights (grants.ts): on an access change it is held (sent nothing,
 *   not even what its group already queued), then ended, or moved to the group of its new scope
 *   (the same one when the scope is unchanged), where it first catches up from the last change
 *   it was sent, executed under the new scope, as a member joining with that cursor would.
 */

import type { Socket } from 'node:net';
import type { DocumentNode, ExecutionArgs, ExecutionResult, GraphQLSchema } from 'graphql';
import type { WebSocket } from 'ws';
import type { Viewer } from '../auth/viewer.ts';
import type { Context } from '../context.ts';
import type { Logger } from '../logger.ts';
import { countDelivery } from '../ops/counters.ts';
import { accessScope } from './access.ts';
import type { FeedPosition } from './cursor.ts';
import type { Feed } from './feed.ts';
import type { Grant, ResumeTurn } from './grants.ts';
import { graphql } from './graphql.ts';
import { type Plan, planOf } from './plan.ts';
import { FeedStream, feedError, STALL_MS, TOO_SLOW_MESSAGE } from './stream.ts';
import { catchUpFailure, retryDelay } from './transient.ts';

const { createSourceEventStream, GraphQLError, getOperationAST, getVariableValues, Kind } = graphql;
type GraphQLError = import('graphql').GraphQLError;

export interface JoinRequest {
  socket: WebSocket;
  id: string;
  query: string;
  schema: GraphQLSchema;
  document: DocumentNode;
  operationName?: string | null;
  variables?: Record<string, unknown> | null;
  contextValue: Context;
}

type Joined = AsyncGenerator<never, void, unknown>;

const TEXT_FRAME = { binary: false } as const;
/** Events up to this size are copied into one buffer per member; larger ones are written in parts. */
const COPY_LIMIT = 16 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A position as numbers, parsed once per event rather than once per member. */
interface Pos {
  x: bigint;
  i: bigint;
}

const toPos = (p: FeedPosition): Pos => ({ x: BigInt(p.xid), i: BigInt(p.id) });
const isAfter = (a: Pos, b: Pos) => a.x > b.x || (a.x === b.x && a.i > b.i);

/**
 * One graphql-ws `next` message's shared part: the payload JSON and the closing brace, encoded
 * once per event and written as-is to every member's socket after the member's own
 * `{"id":…,"type":"next","payload":` prefix. The WebSocket frame header depends only on the total
 * length, so it is built once per prefix length and shared too. Never mutated once built (sockets
 * may still hold it in their write queues).
 */
class Frame {
  private headerFor = -1;
  private header_: Buffer | null = null;

  constructor(readonly body: Buffer) {}

  static of(payloadJson: string): Frame {
    return new Frame(Buffer.from(`${payloadJson}}`));
  }

  /** The frame header for a member whose prefix has this length (members' ids mostly share one). */
  header(prefixLength: number): Buffer {
    if (this.headerFor !== prefixLength || !this.header_) {
      const n = prefixLength + this.body.length;
      const h = Buffer.allocUnsafe(headerLength(n));
      writeHeader(h, n);
      this.header_ = h;
      this.headerFor = prefixLength;
    }
    return this.header_;
  }
}

const headerLength = (n: number) => (n < 126 ? 2 : n < 65536 ? 4 : 10);

/** The header of an unmasked, final text frame (RFC 6455 5.2) with `n` payload bytes. */
function writeHeader(h: Buffer, n: number): void {
  h[0] = 0x81;
  if (n < 126) {
    h[1] = n;
  } else if (n < 65536) {
    h[1] = 126;
    h.writeUInt16BE(n, 2);
  } else {
    h[1] = 127;
    h.writeUInt32BE(0, 2);
    h.writeUIntBE(n, 4, 6);
  }
}

/** A whole frame for one member (catch-up): header, prefix, payload and `}` in one buffer. */
function ownFrame(prefix: Buffer, payloadJson: string): Buffer {
  const json = Buffer.byteLength(payloadJson);
  const n = prefix.length + json + 1;
  const hl = headerLength(n);
  const buf = Buffer.allocUnsafe(hl + n);
  writeHeader(buf, n);
  prefix.copy(buf, hl);
  buf.write(payloadJson, hl + prefix.length, json, 'utf8');
  buf[hl + n - 1] = 0x7d; // }
  return buf;
}

interface WsInternals {
  _socket?: Socket;
  _sender?: { _state?: number; _queue?: unknown[] };
}

/**
 * The TCP socket under a `ws` WebSocket, when a frame may be written to it directly: no extension
 * negotiated (no permessage-deflate) and nothing queued in ws's sender (it writes synchronously
 * then, so frames keep their order with graphql-ws's own messages). Null: use `ws.send`.
 */
function rawSocket(ws: WebSocket): Socket | null {
  const w = ws as unknown as WsInternals;
  const sender = w._sender;
  if (!w._socket || !sender || sender._state !== 0 || sender._queue?.length || ws.extensions !== '') {
    return null;
  }
  return w._socket;
}

function isPromiseLike<T>(value: T | PromiseLike<T>): value is PromiseLike<T> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

function positionOf(event: unknown): Pos | null {
  const e = event as { xid?: unknown; id?: unknown } | null;
  return e && typeof e.xid === 'string' && typeof e.id === 'string' ? toPos({ xid: e.xid, id: e.id }) : null;
}

function canonical(vars: Record<string, unknown>): string {
  return JSON.stringify(
    Object.keys(vars)
      .sort()
      .map((k) => [k, vars[k]]),
  );
}

/** Subscriptions with equal keys share a group: same document, variables (but `after`) and scope. */
function groupKey(req: JoinRequest, variables: Record<string, unknown>, viewer: Viewer): string {
  return JSON.stringify([
    req.query,
    req.operationName ?? null,
    canonical(variables),
    accessScope(viewer).key,
  ]);
}

const toFeedPosition = (p: Pos): FeedPosition => ({ xid: p.x.toString(), id: p.i.toString() });

class Member implements Joined {
  private readonly prefix: Buffer;
  private last: Pos | null;
  private pending: { pos: Pos | null; frame: Frame }[] | null = null;
  private pendingOverflow = false;
  ended = false;
  private settle: { resolve: (r: IteratorResult<never, void>) => void; reject: (e: unknown) => void } | null =
    null;
  private outcome: { error: unknown } | null = null;
  /** Held while its rights are re-decided (grants.ts): nothing is sent until `release()`. */
  private holding = false;
  private unheld: (() => void) | null = null;
  /** A position-less member (the dashboard) was not sent a payload while held. */
  private missed = false;
  /** What it asked for, to find the group of a new scope (FanOut.regroup). */
  origin: { req: JoinRequest; variables: Record<string, unknown> } | null = null;

  constructor(
    /** Its group (another one after its scope changed). */
    public group: Group,
    readonly socket: WebSocket,
    id: string,
    /** The group's change stream (null for position-less sources: the dashboard). */
    private stream: FeedStream | null,
    start: FeedPosition | null,
    private readonly onEnd: () => void,
  ) {
    this.prefix = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
    this.last = start ? toPos(start) : null;
  }

  /**
   * A live event of the group. `prev` is the group's previous event position and `fresh` whether
   * `pos` is after it (compared once per event): a member whose last position is that very
   * object needs no comparison of its own.
   */
  deliver(pos: Pos | null, frame: Frame, prev: Pos | null, fresh: boolean): void {
    if (this.ended) return;
    if (this.pending) {
      if (this.pendingOverflow) return;
      if (this.pending.length >= this.group.fanout.feed.opts.maxQueue) {
        // Too much arrives during catch-up: drop it and read it from the log afterwards.
        this.pending = [];
        this.pendingOverflow = true;
        return;
      }
      this.pending.push({ pos, frame });
      return;
    }
    if (pos && fresh && this.last === prev) {
      this.send(pos, frame, true);
      return;
    }
    this.send(pos, frame);
  }

  /** `ordered`: the caller knows `pos` is after `last`. */
  send(pos: Pos | null, frame: Frame, ordered = false): void {
    if (!this.admit(pos, ordered)) return;
    const raw = rawSocket(this.socket);
    if (raw && frame.body.length <= COPY_LIMIT) {
      // An ordinary event: one buffer, one write (a copy of the shared body costs less than a
      // corked writev of three parts: 6.6 against 7.1 µs per delivery, the floor being 6.2).
      const header = frame.header(this.prefix.length);
      const buf = Buffer.allocUnsafe(header.length + this.prefix.length + frame.body.length);
      header.copy(buf, 0);
      this.prefix.copy(buf, header.length);
      frame.body.copy(buf, header.length + this.prefix.length);
      raw.write(buf);
    } else if (raw) {
      // One writev for the three parts (nested inside a catch-up page's cork, one for the page).
      raw.cork();
      raw.write(frame.header(this.prefix.length));
      raw.write(this.prefix);
      raw.write(frame.body);
      raw.uncork();
    } else {
      this.socket.send(Buffer.concat([this.prefix, frame.body]), TEXT_FRAME);
    }
  }

  /** A catch-up change, executed for this member alone: one buffer, one write. */
  private sendOwn(pos: Pos, payloadJson: string): void {
    if (!this.admit(pos, false)) return;
    const raw = rawSocket(this.socket);
    if (raw) raw.write(ownFrame(this.prefix, payloadJson));
    else this.socket.send(`${this.prefix.toString()}${payloadJson}}`, TEXT_FRAME);
  }

  /**
   * Whether a change at `pos` goes out now: after the last one sent (unless `ordered` says so
   * already), on an open socket, within the buffer limit. Records it as the last one sent.
   */
  private admit(pos: Pos | null, ordered: boolean): boolean {
    if (this.ended) return false;
    if (this.holding) {
      if (!pos) this.missed = true;
      return false;
    }
    if (!ordered && pos && this.last && !isAfter(pos, this.last)) return false;
    if (this.socket.readyState !== this.socket.OPEN) {
      this.end(null);
      return false;
    }
    if (this.socket.bufferedAmount > this.group.fanout.feed.opts.maxBufferedBytes) {
      if (pos && this.last && this.stream && !this.pending) {
        // Behind a burst: continue from the log (this change included), paced by what the client
        // reads; catch-up ends it with SUBSCRIBER_TOO_SLOW if the client stops reading.
        this.group.fanout.feed.counters.burstCatchUps++;
        const from = this.last;
        void this.catchUp(this.stream, { xid: from.x.toString(), id: from.i.toString() }, this.hubPosition());
        return false;
      }
      this.end(feedError('SUBSCRIBER_TOO_SLOW', TOO_SLOW_MESSAGE));
      return false;
    }
    if (pos) this.last = pos;
    return true;
  }

  private hubPosition(): FeedPosition {
    const p = this.group.fanout.feed.hub.position;
    if (!p) throw new Error('the change feed is not ready');
    return p;
  }

  /** Waits until the client has read enough; false (and the member ended) when it stopped reading. */
  private async paced(max: number): Promise<boolean> {
    let amount = this.socket.bufferedAmount;
    let since = Date.now();
    while (!this.ended && this.socket.bufferedAmount > max / 2) {
      await sleep(5);
      if (this.socket.bufferedAmount < amount) {
        amount = this.socket.bufferedAmount;
        since = Date.now();
      } else if (Date.now() - since > STALL_MS) {
        this.end(feedError('SUBSCRIBER_TOO_SLOW', TOO_SLOW_MESSAGE));
      }
    }
    return !this.ended;
  }

  /**
   * Catch-up from `after` to `start` (where the hub was when this member joined, or when it fell
   * behind a burst), paced by the client's reading; then the group's live events that waited.
   */
  async catchUp(stream: FeedStream, after: FeedPosition, start: FeedPosition): Promise<void> {
    this.pending = [];
    this.last = toPos(after);
    let until = start;
    const max = this.group.fanout.feed.opts.maxBufferedBytes;
    let failingSince: number | undefined;
    for (let attempt = 0; !this.ended; ) {
      try {
        const from = this.last as Pos;
        // The reader fetches the next page while this one is written; a page's frames leave in
        // as few writes as the socket takes (corked, released before any wait for the client).
        const fromPosition = { xid: from.x.toString(), id: from.i.toString() };
        // After a move to another group (a new scope), its stream and execution apply.
        const rows = (this.stream ?? stream).rows(fromPosition, until, () => this.ended);
        for await (const page of rows) {
          failingSince = undefined;
          if (this.holding) break;
          const raw = rawSocket(this.socket);
          raw?.cork();
          try {
            for (const row of page) {
              if (this.ended) return;
              if (this.holding) break;
              if (this.socket.bufferedAmount > max / 2) {
                raw?.uncork();
                const reading = await this.paced(max);
                raw?.cork();
                if (!reading) return;
              }
              const json = this.group.execute(row);
              this.sendOwn(toPos(row), typeof json === 'string' ? json : await json);
            }
          } finally {
            raw?.uncork();
          }
        }
        if (this.holding) {
          await new Promise<void>((r) => {
            this.unheld = r;
          });
          continue;
        }
        if (!this.pendingOverflow) break;
        this.pendingOverflow = false;
        this.pending = [];
        until = this.group.fanout.feed.hub.position ?? until;
      } catch (err) {
        if (this.ended) return;
        // An expired cursor (pruning overtook this catch-up), a changed history or a bug ends the
        // member with its code; only a passing connection problem is retried, and not for ever.
        failingSince ??= Date.now();
        const end = catchUpFailure(err, failingSince, this.group.fanout.log);
        if (end) {
          this.end(end);
          return;
        }
        attempt++;
        await sleep(retryDelay(attempt));
      }
    }
    const waiting = this.pending ?? [];
    this.pending = null;
    for (const p of waiting) {
      // A new burst catch-up (or the end) takes over from here.
      if (this.pending || this.ended) break;
      this.send(p.pos, p.frame);
    }
  }

  /** Its access is being re-decided: send nothing from now on (see the module comment). */
  hold(): void {
    if (this.ended || this.holding) return;
    this.holding = true;
    if (!this.stream || !this.last) return;
    if (this.pending) {
      // Catching up already: it waits for release(), then reads what was dropped meanwhile.
      this.pending = [];
      this.pendingOverflow = true;
      return;
    }
    const at = toFeedPosition(this.last);
    void this.catchUp(this.stream, at, at);
    this.pendingOverflow = true;
  }

  /** Moves to the group of its new scope, keeping its position; it stays held. */
  moveTo(group: Group): void {
    if (group === this.group) return;
    this.group.leave(this);
    this.group = group;
    this.stream = group.source instanceof FeedStream ? group.source : null;
    group.members.add(this);
    this.missed = true;
  }

  /** Goes on in its (new) group: catches up what it missed, or gets the latest payload. */
  release(): void {
    if (this.ended || !this.holding) return;
    this.holding = false;
    const unheld = this.unheld;
    this.unheld = null;
    if (unheld) {
      unheld();
    } else if (!this.stream && this.missed && this.group.lastPayload) {
      this.missed = false;
      this.send(null, this.group.lastPayload);
    }
  }

  end(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.pending = null;
    this.onEnd();
    this.unheld?.();
    if (this.settle) {
      const s = this.settle;
      this.settle = null;
      if (error) s.reject(error);
      else s.resolve({ value: undefined, done: true });
    } else {
      this.outcome = { error };
    }
  }

  next(): Promise<IteratorResult<never, void>> {
    if (this.ended) {
      const error = this.outcome?.error;
      this.outcome = null;
      return error ? Promise.reject(error) : Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve, reject) => {
      this.settle = { resolve, reject };
    });
  }

  return(): Promise<IteratorResult<never, void>> {
    this.end(null);
    this.outcome = null;
    return Promise.resolve({ value: undefined, done: true });
  }

  throw(err?: unknown): Promise<IteratorResult<never, void>> {
    this.end(null);
    return Promise.reject(err);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    this.end(null);
  }
}

class Group {
  readonly members = new Set<Member>();
  closed = false;
  /** The latest payload of a position-less stream (the dashboard): a new member starts with it. */
  lastPayload: Frame | null = null;
  /** The document's execution prepared once (plan.ts), when it fits. */
  private readonly plan: Plan | null;

  constructor(
    readonly fanout: FanOut,
    readonly key: string,
    readonly source: AsyncIterableIterator<unknown>,
    private readonly args: ExecutionArgs,
  ) {
    this.plan = planOf(args);
  }

  /**
   * Executes the document once for an event and serializes the result once. graphql's own
   * `execute` runs a subscription document against one event (Yoga's would subscribe again);
   * unexpected errors are masked as Yoga masks them. A planned document (plan.ts) skips graphql's
   * per-event set-up; an event the plan cannot take goes through graphql.
   */
  execute(event: unknown): string | Promise<string> {
    this.fanout.executions++;
    const planned = this.plan?.(event);
    if (planned) return planned;
    const result = graphql.execute({ ...this.args, rootValue: event });
    // Synchronous resolvers (the `Change` fields) need no await per event.
    return isPromiseLike(result)
      ? Promise.resolve(result).then((r) => this.serialize(r))
      : this.serialize(result);
  }

  private serialize(result: ExecutionResult): string {
    if (result.errors) {
      const errors = result.errors.map((e) => {
        const original = e.originalError;
        if (!original || original instanceof GraphQLError) return e;
        this.fanout.log.error({ err: original }, 'subscription resolver failed');
        return new GraphQLError('Unexpected error.', { nodes: e.nodes, path: e.path });
      });
      return JSON.stringify({ ...result, errors });
    }
    return JSON.stringify(result);
  }

  async pump(): Promise<void> {
    let error: unknown = null;
    try {
      let prev: Pos | null = null;
      for await (const event of this.source) {
        if (this.closed) break;
        const json = this.execute(event);
        const frame = Frame.of(typeof json === 'string' ? json : await json);
        const pos = positionOf(event);
        if (!pos) this.lastPayload = frame;
        // Positions are compared once per event; members at the previous event skip their own.
        const fresh = pos !== null && (prev === null || isAfter(pos, prev));
        for (const m of this.members) m.deliver(pos, frame, prev, fresh);
        countDelivery(event, this.members.size);
        if (fresh) prev = pos;
      }
    } catch (err) {
      if (err instanceof GraphQLError) {
        error = err;
      } else {
        this.fanout.log.error({ err }, 'subscription group failed');
        error = feedError('SUBSCRIBER_TOO_SLOW', TOO_SLOW_MESSAGE);
      }
    }
    this.close();
    for (const m of [...this.members]) m.end(error);
  }

  leave(member: Member): void {
    this.members.delete(member);
    if (this.members.size === 0) this.close();
  }

  /** Closes a group that nobody joined (started for a member that no longer needs it). */
  closeIfUnused(): void {
    if (this.members.size === 0) this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    this.fanout.drop(this);
    void this.source.return?.();
  }
}

export class FanOut {
  private readonly groups = new Map<string, Promise<Group | readonly GraphQLError[]>>();
  readonly log: Logger;
  /** Executions of grouped subscription documents (one per group and event, plus catch-up). */
  executions = 0;

  constructor(
    readonly feed: Feed,
    log: Logger,
    private readonly fields: ReadonlySet<string>,
  ) {
    this.log = log.child({ module: 'feed-fanout' });
    feed.fanout = this;
  }

  /** Groups alive now. */
  get size(): number {
    return this.groups.size;
  }

  drop(group: Group): void {
    const current = this.groups.get(group.key);
    if (!current) return;
    void current.then((g) => {
      if (g === group && this.groups.get(group.key) === current) this.groups.delete(group.key);
    });
  }

  /**
   * Joins (or starts) the group of a graphql-ws subscription. Null: not groupable, run it the
   * ordinary way. Errors: refuse the operation. Otherwise an iterator for graphql-ws that yields
   * nothing (the group writes to the socket itself) and ends when the member ends.
   */
  async join(req: JoinRequest): Promise<Joined | readonly GraphQLError[] | null> {
    const op = getOperationAST(req.document, req.operationName);
    if (op?.operation !== 'subscription' || op.selectionSet.selections.length !== 1) return null;
    const field = op.selectionSet.selections[0];
    if (
      !field ||
      field.kind !== Kind.FIELD ||
      field.directives?.length ||
      !this.fields.has(field.name.value)
    ) {
      return null;
    }
    const viewer = req.contextValue.viewer;
    // No viewer, or one who must change their password: the ungrouped path, where the gate refuses.
    if (!viewer || viewer.mustChangePassword) return null;
    const variables = { ...(req.variables ?? {}) };
    let after: string | null = null;
    const afterArg = field.arguments?.find((a) => a.name.value === 'after');
    if (afterArg) {
      if (afterArg.value.kind === Kind.VARIABLE) {
        const name = afterArg.value.name.value;
        // The value graphql itself would use: the operation's default applies when the client
        // sends none. The group runs with the variable set to null, so the cursor is read here.
        const coerced = getVariableValues(req.schema, op.variableDefinitions ?? [], req.variables ?? {});
        if (coerced.errors) return null;
        const v = coerced.coerced[name];
        if (v !== undefined && v !== null && typeof v !== 'string') return null;
        after = v ?? null;
        variables[name] = null;
      } else if (afterArg.value.kind !== Kind.NULL) {
        return null;
      }
    }
    // One of the viewer's subscription places: given back when the member ends or on a refusal.
    let share: () => void;
    try {
      share = this.feed.admit(viewer);
    } catch (err) {
      if (err instanceof GraphQLError) return [err];
      throw err;
    }
    let afterPos: FeedPosition | null = null;
    if (after !== null) {
      try {
        afterPos = await this.feed.parseCursor(after);
      } catch (err) {
        share();
        if (err instanceof GraphQLError) return [err];
        throw err;
      }
    }

    let group: Group | readonly GraphQLError[];
    try {
      group = await this.groupFor(groupKey(req, variables, viewer), req, variables);
    } catch (err) {
      share();
      throw err;
    }
    if (!(group instanceof Group)) {
      share();
      return group;
    }
    const g = group;
    const stream = g.source instanceof FeedStream ? g.source : null;
    const here = this.feed.hub.position;
    const closeTracking = this.feed.track(share);
    let grant: Grant | undefined;
    const member: Member = new Member(g, req.socket, req.id, stream, stream ? here : null, () => {
      closeTracking();
      grant?.detach();
      member.group.leave(member);
    });
    member.origin = { req, variables };
    g.members.add(member);
    if (afterPos && stream && here) void member.catchUp(stream, afterPos, here);
    // From here on the member follows its own rights: held on an access change, then ended or
    // moved to the group of its new scope (held at once if its rights may already be stale).
    grant = this.feed.grants.attach(viewer, {
      hold: () => member.hold(),
      resume: (next, turn) => this.regroup(member, next, turn),
      end: (err) => member.end(err),
    });
    if (!stream && g.lastPayload) member.send(null, g.lastPayload);
    return member;
  }

  /** The live group for `key`, started when there is none; the refusal of its start as errors. */
  private async groupFor(
    key: string,
    req: JoinRequest,
    variables: Record<string, unknown>,
  ): Promise<Group | readonly GraphQLError[]> {
    for (let attempt = 0; attempt < 3; attempt++) {
      let pending = this.groups.get(key);
      if (!pending) {
        pending = this.create(key, req, variables);
        this.groups.set(key, pending);
      }
      let got: Group | readonly GraphQLError[];
      try {
        got = await pending;
      } catch (err) {
        // Starting the group failed (the database was unreachable): the next join starts afresh.
        if (this.groups.get(key) === pending) this.groups.delete(key);
        throw err;
      }
      if (got instanceof Group && !got.closed) return got;
      if (this.groups.get(key) === pending) this.groups.delete(key);
      if (!(got instanceof Group)) return got;
    }
    throw new Error('could not start a subscription group');
  }

  /**
   * A member's rights were read again (grants.ts): it continues in the group of its new scope,
   * started if need be (whose start refuses what the new rights do not allow: FORBIDDEN), or the
   * refusal ends it.
   */
  private async regroup(member: Member, viewer: Viewer, turn: ResumeTurn): Promise<GraphQLError | null> {
    const origin = member.origin;
    if (!origin) return null;
    const key = groupKey(origin.req, origin.variables, viewer);
    if (key !== member.group.key) {
      const req = { ...origin.req, contextValue: { ...origin.req.contextValue, viewer } };
      const group = await this.groupFor(key, req, origin.variables);
      if (!(group instanceof Group)) {
        return group[0] ?? feedError('FORBIDDEN', 'This subscription is no longer allowed');
      }
      if (!turn.current) {
        group.closeIfUnused();
        return null;
      }
      member.moveTo(group);
    }
    if (turn.commit()) member.release();
    return null;
  }

  private async create(
    key: string,
    req: JoinRequest,
    variables: Record<string, unknown>,
  ): Promise<Group | readonly GraphQLError[]> {
    const args: ExecutionArgs = {
      schema: req.schema,
      document: req.document,
      operationName: req.operationName,
      variableValues: variables,
      contextValue: { ...req.contextValue, feedGroup: true },
    };
    const source = await createSourceEventStream(args);
    if (!(Symbol.asyncIterator in Object(source))) return (source as ExecutionResult).errors ?? [];
    const group = new Group(this, key, source as AsyncIterableIterator<unknown>, args);
    void group.pump();
    return group;
  }
}
