/**
 * The exact check of the chaos runs: every subscriber's sessions against the change log, change
 * by change, across pruning, crashes and restores.
 *
 * A history is the whole log of one database history as the run leaves it: the rows still in
 * `change_log` plus the rows the pruning job deleted (kept by the archive trigger of
 * chaos-cluster.ts), each named `xid:id:stamp` (a restored history reuses xids and ids, never with
 * the same stamp). Histories are listed oldest first; the last one is where the run ended.
 *
 * A subscriber's sessions are checked one by one: a session that starts from a cursor must bring
 * exactly the changes after it in that cursor's history, in log order, none twice, none skipped;
 * one without a cursor (the live end) exactly the changes from its first one on. A session
 * resumed from the previous one's last cursor continues it, so the whole sequence is exact unless
 * a session ended with CURSOR_EXPIRED: only there may the subscriber skip (it reloads and starts
 * again), and only when the expiry was justified: its history is gone, its cursor carries an
 * epoch the database has since rotated (a restore was noticed), or the change after where it got
 * to was pruned. The last session must reach the end of the last history.
 */

export interface LogRow {
  xid: string;
  id: string;
  stamp: string;
  pruned: boolean;
  /** Whether subscribers must receive it (their tables); the others only place cursors. */
  relevant: boolean;
}

export interface History {
  keys: string[];
  index: Map<string, number>;
  pruned: Set<string>;
  positions: { x: bigint; i: bigint }[];
  relevant: boolean[];
  /** Key of the last relevant change (null: none). */
  lastRelevant: string | null;
  /** The feed epoch at the time it was read. */
  epoch: string | null;
  /** When it ended (a restore began; ms), null for the last one. */
  endedAt: number | null;
}

export interface Session {
  /** The cursor it subscribed from; null: the live end (no cursor). */
  start: string | null;
  /** The cursors of the changes received, in order. */
  items: string[];
  /** The error code it ended with; null when the client ended it. */
  end: string | null;
  /** When it ended (ms). */
  endedAt: number;
}

export interface SubscriberCheck {
  sessions: number;
  delivered: number;
  missing: number;
  duplicates: number;
  unexpected: number;
  /** Sessions whose sequence differs from the log in any way (order included). */
  differing: number;
  expiries: number;
  unjustifiedExpiries: number;
  tooSlow: number;
  /** Other error codes met (UNAVAILABLE and the like), by code. */
  otherErrors: Record<string, number>;
  /** Whether the last session reached the end of the last history. */
  complete: boolean;
  /** The first difference found, for the failure message. */
  firstProblem: string | null;
}

export function historyOf(
  rows: LogRow[],
  epoch: string | null = null,
  endedAt: number | null = null,
): History {
  const h: History = {
    keys: [],
    index: new Map(),
    pruned: new Set(),
    positions: [],
    relevant: [],
    lastRelevant: null,
    epoch,
    endedAt,
  };
  for (const r of rows) {
    const key = `${r.xid}:${r.id}:${r.stamp}`;
    h.index.set(key, h.keys.length);
    h.keys.push(key);
    h.positions.push({ x: BigInt(r.xid), i: BigInt(r.id) });
    h.relevant.push(r.relevant);
    if (r.relevant) h.lastRelevant = key;
    if (r.pruned) h.pruned.add(key);
  }
  return h;
}

/** `epoch:xid:id[:stamp]` -> its key (null without a stamp) and position. */
export function parseCursor(cursor: string): { key: string | null; x: bigint; i: bigint } {
  const [, xid, id, stamp] = cursor.split(':');
  return {
    key: stamp === undefined ? null : `${xid}:${id}:${stamp}`,
    x: BigInt(xid as string),
    i: BigInt(id as string),
  };
}

/** Index of the last entry at or before the position (-1: none). */
function indexAtOrBefore(h: History, x: bigint, i: bigint): number {
  let lo = 0;
  let hi = h.positions.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    const p = h.positions[mid] as { x: bigint; i: bigint };
    if (p.x < x || (p.x === x && p.i <= i)) lo = mid + 1;
    else hi = mid;
  }
  return lo - 1;
}

/** Where a cursor stands in a history: the index of its change, or null when it is not of it. */
function startIn(h: History, cursor: string): number | null {
  const c = parseCursor(cursor);
  if (c.key !== null) return h.index.has(c.key) ? (h.index.get(c.key) as number) : null;
  return indexAtOrBefore(h, c.x, c.i);
}

/** The first relevant change after index `at`. */
function nextRelevant(h: History, at: number): string | undefined {
  for (let k = at + 1; k < h.keys.length; k++) if (h.relevant[k]) return h.keys[k];
  return undefined;
}

const keyOf = (cursor: string) => {
  const [, xid, id, stamp] = cursor.split(':');
  return `${xid}:${id}:${stamp}`;
};

export function checkSubscriber(histories: History[], sessions: Session[]): SubscriberCheck {
  const last = histories[histories.length - 1] as History;
  const out: SubscriberCheck = {
    sessions: sessions.length,
    delivered: 0,
    missing: 0,
    duplicates: 0,
    unexpected: 0,
    differing: 0,
    expiries: 0,
    unjustifiedExpiries: 0,
    tooSlow: 0,
    otherErrors: {},
    complete: false,
    firstProblem: null,
  };
  const problem = (text: string) => {
    out.firstProblem ??= text;
  };
  sessions.forEach((s, n) => {
    const items = s.items.map(keyOf);
    out.delivered += items.length;
    const final = n === sessions.length - 1;
    // The history this session is in (newest first: the one its first change continues, else
    // any that knows its cursor), and the index it starts after.
    const candidates: { h: History; from: number }[] = [];
    for (const h of [...histories].reverse()) {
      if (s.start !== null) {
        const at = startIn(h, s.start);
        if (at !== null) candidates.push({ h, from: at });
      } else if (items.length > 0 && h.index.has(items[0] as string)) {
        candidates.push({ h, from: (h.index.get(items[0] as string) as number) - 1 });
      }
    }
    // A session from a cursor of the prefix two histories share is in the one holding its changes.
    const first = (c: { h: History; from: number }) =>
      items.length === 0 || nextRelevant(c.h, c.from) === items[0];
    const lastItem = items[items.length - 1];
    const chosen =
      candidates.find((c) => first(c) && (lastItem === undefined || c.h.index.has(lastItem))) ??
      candidates.find(first) ??
      candidates[0];
    let h = chosen?.h;
    let from = chosen?.from ?? -1;
    if (!h) {
      if (s.start !== null || items.length > 0) {
        out.unexpected += items.length;
        problem(`session ${n}: starts from a cursor or change of no known history (${s.start ?? items[0]})`);
      }
      h = last;
      from = h.keys.length - 1;
    }
    // Exactly the changes after its start: up to its last change, or to the end for the last session.
    const lastAt = items.length ? h.index.get(items[items.length - 1] as string) : undefined;
    const upTo =
      final && h === last ? h.keys.length - 1 : lastAt !== undefined && lastAt > from ? lastAt : from;
    const expected = h.keys.slice(from + 1, upTo + 1).filter((_, k) => h?.relevant[from + 1 + k]);
    const c = compare(expected, items);
    out.missing += c.missing;
    out.duplicates += c.duplicates;
    out.unexpected += c.unexpected;
    if (c.firstDifference >= 0) {
      out.differing++;
      problem(
        `session ${n} (from ${s.start ?? 'the live end'}, ${items.length} changes, ended ${s.end ?? 'by the client'}): ` +
          `change ${c.firstDifference} is ${items[c.firstDifference] ?? 'missing'}, expected ${expected[c.firstDifference] ?? 'nothing'}`,
      );
    }
    if (final)
      out.complete =
        h === last &&
        c.missing === 0 &&
        (last.lastRelevant === null || items.at(-1) === last.lastRelevant || expected.length === 0);
    if (s.end === 'CURSOR_EXPIRED') {
      out.expiries++;
      // Justified when its history is gone or the change after where it got to was pruned.
      const at = lastAt ?? from;
      const here = at >= 0 ? h.keys[at] : undefined;
      const next = nextRelevant(h, at);
      // A history ended (a restore began) before this session ended.
      const afterRestore = histories.some((x) => x.endedAt !== null && x.endedAt <= s.endedAt);
      const gone = h !== last && h.endedAt !== null && h.endedAt <= s.endedAt;
      const pruned = (next !== undefined && h.pruned.has(next)) || (here !== undefined && h.pruned.has(here));
      const cursor = s.items[s.items.length - 1] ?? s.start;
      const rotated =
        afterRestore && last.epoch !== null && cursor !== null && cursor.split(':')[0] !== last.epoch;
      const live = afterRestore && s.start === null && items.length === 0;
      if (!gone && !pruned && !rotated && !live) {
        out.unjustifiedExpiries++;
        problem(
          `session ${n}: CURSOR_EXPIRED at ${here ?? 'its start'} though that history and the next change are there`,
        );
      }
    } else if (s.end === 'SUBSCRIBER_TOO_SLOW') {
      out.tooSlow++;
    } else if (s.end !== null) {
      out.otherErrors[s.end] = (out.otherErrors[s.end] ?? 0) + 1;
    }
  });
  if (!out.complete) problem('the last session did not reach the end of the log');
  return out;
}

/** Whether a subscriber's check shows an exact sequence (what the tests and `npm run chaos` demand). */
export function exact(c: SubscriberCheck): boolean {
  return (
    c.missing === 0 &&
    c.duplicates === 0 &&
    c.unexpected === 0 &&
    c.differing === 0 &&
    c.unjustifiedExpiries === 0 &&
    c.complete
  );
}

/** A short account of how a sequence differs from the expected one (exact: firstDifference -1). */
export function compare(expected: string[], got: string[]) {
  const want = new Set(expected);
  const seen = new Set<string>();
  let duplicates = 0;
  let unexpected = 0;
  for (const p of got) {
    if (seen.has(p)) duplicates++;
    seen.add(p);
    if (!want.has(p)) unexpected++;
  }
  const missing = expected.filter((p) => !seen.has(p)).length;
  let firstDifference = -1;
  for (let i = 0; i < Math.max(expected.length, got.length); i++) {
    if (expected[i] !== got[i]) {
      firstDifference = i;
      break;
    }
  }
  return { expected: expected.length, got: got.length, missing, duplicates, unexpected, firstDifference };
}
