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
 * - Errors (an expired cursor, the group's stream failing) end the members with a graphql-ws
 *   `error` message carrying `extensions.code`.
 * - Anything that is not a single root field among `fields`, has no viewer or has a literal
 *   cursor is not grouped (the caller runs it the ordinary way, one execution per subscriber).
 */
import type { DocumentNode, ExecutionArgs, ExecutionResult, GraphQLSchema } from 'graphql';
import type { WebSocket } from 'ws';
import type { Context } from '../context.ts';
import type { Logger } from '../logger.ts';
import { accessScope } from './access.ts';
import type { FeedPosition } from './cursor.ts';
import type { Feed } from './feed.ts';
import { graphql } from './graphql.ts';
import { FeedStream, feedError, STALL_MS, TOO_SLOW_MESSAGE } from './stream.ts';

const { createSourceEventStream, GraphQLError, getOperationAST, Kind } = graphql;
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

const SUFFIX = Buffer.from('}');
const TEXT_FRAME = { binary: false } as const;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A position as numbers, parsed once per event rather than once per member. */
interface Pos {
  x: bigint;
  i: bigint;
}

const toPos = (p: FeedPosition): Pos => ({ x: BigInt(p.xid), i: BigInt(p.id) });
const isAfter = (a: Pos, b: Pos) => a.x > b.x || (a.x === b.x && a.i > b.i);

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

class Member implements Joined {
  private readonly prefix: Buffer;
  private last: Pos | null;
  private pending: { pos: Pos | null; payload: Buffer }[] | null = null;
  private pendingOverflow = false;
  ended = false;
  private settle: { resolve: (r: IteratorResult<never, void>) => void; reject: (e: unknown) => void } | null =
    null;
  private outcome: { error: unknown } | null = null;

  constructor(
    private readonly group: Group,
    readonly socket: WebSocket,
    id: string,
    /** The group's change stream (null for position-less sources: the dashboard). */
    private readonly stream: FeedStream | null,
    start: FeedPosition | null,
    private readonly onEnd: () => void,
  ) {
    this.prefix = Buffer.from(`{"id":${JSON.stringify(id)},"type":"next","payload":`);
    this.last = start ? toPos(start) : null;
  }

  deliver(pos: Pos | null, payload: Buffer): void {
    if (this.ended) return;
    if (this.pending) {
      if (this.pendingOverflow) return;
      if (this.pending.length >= this.group.fanout.feed.opts.maxQueue) {
        // Too much arrives during catch-up: drop it and read it from the log afterwards.
        this.pending = [];
        this.pendingOverflow = true;
        return;
      }
      this.pending.push({ pos, payload });
      return;
    }
    this.send(pos, payload);
  }

  send(pos: Pos | null, payload: Buffer): void {
    if (this.ended) return;
    if (pos && this.last && !isAfter(pos, this.last)) return;
    if (this.socket.readyState !== this.socket.OPEN) {
      this.end(null);
      return;
    }
    if (this.socket.bufferedAmount > this.group.fanout.feed.opts.maxBufferedBytes) {
      if (pos && this.last && this.stream && !this.pending) {
        // Behind a burst: continue from the log (this change included), paced by what the client
        // reads; catch-up ends it with SUBSCRIBER_TOO_SLOW if the client stops reading.
        const from = this.last;
        void this.catchUp(this.stream, { xid: from.x.toString(), id: from.i.toString() }, this.hubPosition());
        return;
      }
      this.end(feedError('SUBSCRIBER_TOO_SLOW', TOO_SLOW_MESSAGE));
      return;
    }
    if (pos) this.last = pos;
    this.socket.send(Buffer.concat([this.prefix, payload, SUFFIX]), TEXT_FRAME);
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
    for (let attempt = 0; !this.ended; ) {
      try {
        const from = this.last as Pos;
        for await (const page of stream.rows({ xid: from.x.toString(), id: from.i.toString() }, until)) {
          for (const row of page) {
            if (this.ended) return;
            if (!(await this.paced(max))) return;
            this.send(toPos(row), await this.group.run(row));
          }
        }
        if (!this.pendingOverflow) break;
        this.pendingOverflow = false;
        this.pending = [];
        until = this.group.fanout.feed.hub.position ?? until;
      } catch (err) {
        if (err instanceof GraphQLError) {
          this.end(err);
          return;
        }
        attempt++;
        await sleep(Math.min(50 * 2 ** attempt, 1000));
      }
    }
    const waiting = this.pending ?? [];
    this.pending = null;
    for (const p of waiting) {
      // A new burst catch-up (or the end) takes over from here.
      if (this.pending || this.ended) break;
      this.send(p.pos, p.payload);
    }
  }

  end(error: unknown): void {
    if (this.ended) return;
    this.ended = true;
    this.pending = null;
    this.onEnd();
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
  lastPayload: Buffer | null = null;

  constructor(
    readonly fanout: FanOut,
    readonly key: string,
    readonly source: AsyncIterableIterator<unknown>,
    private readonly args: ExecutionArgs,
  ) {}

  /**
   * Executes the document once for an event and serializes the result once. graphql's own
   * `execute` runs a subscription document against one event (Yoga's would subscribe again);
   * unexpected errors are masked as Yoga masks them.
   */
  async run(event: unknown): Promise<Buffer> {
    this.fanout.executions++;
    const result = (await graphql.execute({ ...this.args, rootValue: event })) as ExecutionResult;
    if (result.errors) {
      const errors = result.errors.map((e) => {
        const original = e.originalError;
        if (!original || original instanceof GraphQLError) return e;
        this.fanout.log.error({ err: original }, 'subscription resolver failed');
        return new GraphQLError('Unexpected error.', { nodes: e.nodes, path: e.path });
      });
      return Buffer.from(JSON.stringify({ ...result, errors }));
    }
    return Buffer.from(JSON.stringify(result));
  }

  async pump(): Promise<void> {
    let error: unknown = null;
    try {
      for await (const event of this.source) {
        if (this.closed) break;
        const payload = await this.run(event);
        const pos = positionOf(event);
        if (!pos) this.lastPayload = payload;
        for (const m of this.members) m.deliver(pos, payload);
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
    if (!viewer) return null;
    const variables = { ...(req.variables ?? {}) };
    let after: string | null = null;
    const afterArg = field.arguments?.find((a) => a.name.value === 'after');
    if (afterArg) {
      if (afterArg.value.kind === Kind.VARIABLE) {
        const v = variables[afterArg.value.name.value];
        if (v !== undefined && v !== null && typeof v !== 'string') return null;
        after = v ?? null;
        variables[afterArg.value.name.value] = null;
      } else if (afterArg.value.kind !== Kind.NULL) {
        return null;
      }
    }
    let afterPos: FeedPosition | null = null;
    if (after) {
      try {
        afterPos = await this.feed.parseCursor(after);
      } catch (err) {
        if (err instanceof GraphQLError) return [err];
        throw err;
      }
    }

    const key = JSON.stringify([
      req.query,
      req.operationName ?? null,
      canonical(variables),
      accessScope(viewer).key,
    ]);
    let group: Group | undefined;
    for (let attempt = 0; attempt < 3 && !group; attempt++) {
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
      if (!(got instanceof Group)) {
        if (this.groups.get(key) === pending) this.groups.delete(key);
        return got;
      }
      if (!got.closed) group = got;
      else if (this.groups.get(key) === pending) this.groups.delete(key);
    }
    if (!group) throw new Error('could not start a subscription group');
    const g = group;
    const stream = g.source instanceof FeedStream ? g.source : null;
    const here = this.feed.hub.position;
    const closeTracking = this.feed.track();
    const member: Member = new Member(g, req.socket, req.id, stream, stream ? here : null, () => {
      closeTracking();
      g.leave(member);
    });
    g.members.add(member);
    if (afterPos && stream && here) void member.catchUp(stream, afterPos, here);
    else if (!stream && g.lastPayload) member.send(null, g.lastPayload);
    return member;
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
