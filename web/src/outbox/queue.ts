/**
 * The outbox: every mutation the app makes goes through here. Items are stored in IndexedDB
 * (with their idempotency key) before anything is sent, so they survive a reload or a lost
 * connection, and are sent one at a time in the order they were made: items of one record never
 * overtake each other or run in parallel (a record blocked by a conflict or failure holds back
 * only its own later items). A repeat after a lost response reuses the key, so the server applies
 * it once.
 *
 * Outcomes: success removes the item. VersionConflict on a field edit is merged and retried by
 * itself when the other side changed other fields, and otherwise waits for the user (the conflict
 * dialog). Other typed errors (InsufficientStock, ValidationError, ...) keep the item, marked
 * failed, in the outbox for the user to see, retry or discard; when the user is waiting on the
 * screen that made it, the error is shown there instead.
 *
 * The screen waits for the outcome at most INLINE_WAIT_MS (2 s), and not at all once the server
 * cannot be reached (a network error, e.g. the server is down while the network is up): the
 * change is then `queued`, kept here and sent later. What a queued change became once sent is
 * announced in `delivered` (e.g. the till's receipt gets its order number).
 */
import type { DocumentNode } from 'graphql';
import { createStore } from '../lib/store.ts';
import { patchStatus, status } from '../status.ts';
import { idb } from './idb.ts';
import { applyChoices, type Choice, type FieldConflict, pick, type Row, resolveConflict } from './merge.ts';

export interface TypedError {
  __typename: string;
  message: string;
  [key: string]: unknown;
}

/** How a VersionConflict is handled for a mutation. */
export type ConflictPolicy =
  | { kind: 'patch'; patchOf: (vars: Row) => Row; withPatch: (vars: Row, patch: Row) => Row }
  | { kind: 'rebaseWhile'; field: string; value: unknown }
  | { kind: 'fail' };

export interface MutationDef {
  /** The mutation field, e.g. `updateProduct`; also the stored name of queued items. */
  name: string;
  document: DocumentNode;
  conflict?: ConflictPolicy;
}

export interface OutboxItem {
  seq?: number;
  userId: string;
  name: string;
  variables: Row;
  /** `Type:id` of the record it changes; items of one record are sent strictly in order. */
  record?: string;
  /** The patched fields as the user saw them (for conflict detection). */
  base?: Row;
  label: string;
  createdAt: number;
  attempts: number;
  state: 'pending' | 'conflict' | 'failed';
  error?: TypedError;
  conflict?: { conflicts: FieldConflict[]; current: Row; version: number };
}

export type Outcome =
  | { status: 'done'; data: Row }
  | { status: 'failed'; error: TypedError }
  | { status: 'queued'; seq?: number }
  | { status: 'conflict' };

/** A queued change that reached the server after its screen stopped waiting for it. */
export interface Delivered {
  seq: number;
  name: string;
  label: string;
  data: Row;
}

export type Sender = (
  document: DocumentNode,
  variables: Row,
) => Promise<{ data?: Row | null; networkError?: boolean; errors?: { message: string; code?: string }[] }>;

const defs = new Map<string, MutationDef>();
export const outboxItems = createStore<OutboxItem[]>([]);
/** The latest queued changes that were sent after their screen stopped waiting (newest last). */
export const delivered = createStore<readonly Delivered[]>([]);
const INLINE_WAIT_MS = 2000;

let sender: Sender | null = null;
let userId: string | null = null;
let pumping = false;
let again = false;
let retryTimer: ReturnType<typeof setTimeout> | undefined;
let retryDelay = 1000;
const waiters = new Map<number, { resolve: (o: Outcome) => void; inline: boolean }>();

export function defineMutation(def: MutationDef): MutationDef {
  defs.set(def.name, def);
  return def;
}

export const newKey = () => crypto.randomUUID();

const bySeq = (a: OutboxItem, b: OutboxItem) => (a.seq ?? 0) - (b.seq ?? 0);

async function refresh() {
  const all = (await idb.all<OutboxItem>()).filter((i) => i.userId === userId).sort(bySeq);
  outboxItems.set(all);
  patchStatus({
    pending: all.filter((i) => i.state === 'pending').length,
    attention: all.filter((i) => i.state !== 'pending').length,
  });
}

/** Starts sending for `user` with `send`; call again after sign-in. */
export function startOutbox(user: string | null, send: Sender) {
  userId = user;
  sender = send;
  void refresh().then(pump);
}

/**
 * Queues a mutation and resolves with its outcome once sent, or with `queued` when the app is
 * offline (the item is sent later; a later failure shows in the outbox).
 */
export async function enqueue(
  def: MutationDef,
  variables: Row,
  opts: { label: string; record?: string; base?: Row },
): Promise<Outcome> {
  if (!userId) throw new Error('Not signed in');
  const item: OutboxItem = {
    userId,
    name: def.name,
    variables: { ...variables, idempotencyKey: newKey() },
    record: opts.record,
    base: opts.base,
    label: opts.label,
    createdAt: Date.now(),
    attempts: 0,
    state: 'pending',
  };
  const seq = await idb.add(item);
  await refresh();
  if (status.get().connection === 'offline') {
    void pump();
    return { status: 'queued', seq };
  }
  const outcome = new Promise<Outcome>((resolve) => waiters.set(seq, { resolve, inline: true }));
  void pump();
  const timeout = new Promise<Outcome>((r) => setTimeout(() => r({ status: 'queued', seq }), INLINE_WAIT_MS));
  return Promise.race([outcome, timeout]).finally(() => {
    const w = waiters.get(seq);
    if (w) w.inline = false;
  });
}

function settle(seq: number, outcome: Outcome): boolean {
  const w = waiters.get(seq);
  if (!w) return false;
  waiters.delete(seq);
  w.resolve(outcome);
  return w.inline;
}

/** Sends whatever can be sent now. Safe to call any time; one pass runs at a time (across tabs too). */
export async function pump(): Promise<void> {
  if (pumping) {
    again = true;
    return;
  }
  pumping = true;
  try {
    do {
      again = false;
      if (!sender || !userId || status.get().connection === 'offline') break;
      const locks = typeof navigator !== 'undefined' ? navigator.locks : undefined;
      if (locks) await locks.request('branchline-outbox', () => pass());
      else await pass();
    } while (again);
  } finally {
    pumping = false;
  }
}

async function pass() {
  const items = (await idb.all<OutboxItem>()).filter((i) => i.userId === userId).sort(bySeq);
  const blocked = new Set<string>();
  for (const item of items) {
    if (item.record && blocked.has(item.record)) continue;
    if (item.state !== 'pending') {
      if (item.record) blocked.add(item.record);
      continue;
    }
    const result = await send(item, items);
    await refresh();
    if (result === 'network') {
      // The server cannot be reached: no screen keeps waiting for what is now queued.
      for (const waiting of [...waiters.keys()]) settle(waiting, { status: 'queued', seq: waiting });
      scheduleRetry();
      return;
    }
    if (result === 'blocked' && item.record) blocked.add(item.record);
  }
  retryDelay = 1000;
}

function scheduleRetry() {
  clearTimeout(retryTimer);
  retryTimer = setTimeout(() => void pump(), retryDelay);
  retryDelay = Math.min(retryDelay * 2, 15_000);
}

async function send(item: OutboxItem, items: OutboxItem[]): Promise<'ok' | 'blocked' | 'network'> {
  const def = defs.get(item.name);
  const seq = item.seq as number;
  if (!def || !sender) {
    return fail(item, {
      __typename: 'UnknownOperation',
      message: `This app version cannot send "${item.name}"`,
    });
  }
  for (;;) {
    item.attempts += 1;
    const res = await sender(def.document, item.variables);
    if (res.networkError) {
      await idb.put(item);
      return 'network';
    }
    const payload = res.data?.[def.name] as (Row & { __typename?: string }) | null | undefined;
    if (!payload) {
      const first = res.errors?.[0];
      return fail(item, {
        __typename: first?.code ?? 'Error',
        message: first?.message ?? 'The server refused the change',
      });
    }
    const typename = String(payload.__typename ?? '');
    if (!typename || typename.endsWith('Success')) {
      const data = ((payload as Row).data ?? payload) as Row;
      await idb.delete(seq);
      carryLineage(item, data, items);
      if (!settle(seq, { status: 'done', data })) {
        delivered.set((prev) => [...prev.slice(-19), { seq, name: item.name, label: item.label, data }]);
      }
      return 'ok';
    }
    if (typename === 'VersionConflict' && def.conflict && item.attempts < 6) {
      const current = (payload.current ?? {}) as Row;
      const version = Number(current.version);
      const changedFields = (payload.changedFields as string[] | undefined) ?? [];
      const policy = def.conflict;
      if (policy.kind === 'patch') {
        const patch = policy.patchOf(item.variables);
        const resolution = resolveConflict(patch, item.base, current, changedFields);
        if (resolution.kind === 'retry') {
          item.variables = {
            ...policy.withPatch(item.variables, resolution.patch),
            expectedVersion: version,
            idempotencyKey: newKey(),
          };
          item.base = resolution.base;
          await idb.put(item);
          continue;
        }
        item.state = 'conflict';
        item.conflict = { conflicts: resolution.conflicts, current, version };
        await idb.put(item);
        settle(seq, { status: 'conflict' });
        return 'blocked';
      }
      if (policy.kind === 'rebaseWhile' && current[policy.field] === policy.value) {
        item.variables = { ...item.variables, expectedVersion: version, idempotencyKey: newKey() };
        await idb.put(item);
        continue;
      }
    }
    return fail(item, payload as TypedError);
  }
}

async function fail(item: OutboxItem, error: TypedError): Promise<'blocked'> {
  const seq = item.seq as number;
  if (settle(seq, { status: 'failed', error })) {
    await idb.delete(seq);
  } else {
    item.state = 'failed';
    item.error = error;
    await idb.put(item);
  }
  return 'blocked';
}

/**
 * After an edit of a record succeeds, later queued edits of that record that were made on the
 * same version now build on this one: move their expectedVersion along and take my new values as
 * their base, so my own edits never conflict with each other.
 */
function carryLineage(done: OutboxItem, data: Row, items: OutboxItem[]) {
  if (!done.record || typeof data.version !== 'number') return;
  const def = defs.get(done.name);
  const written = def?.conflict?.kind === 'patch' ? def.conflict.patchOf(done.variables) : {};
  for (const later of items) {
    if ((later.seq ?? 0) <= (done.seq ?? 0) || later.record !== done.record || later.state !== 'pending')
      continue;
    if (later.variables.expectedVersion === done.variables.expectedVersion) {
      later.variables = { ...later.variables, expectedVersion: data.version };
    }
    if (later.base) {
      const carried = Object.keys(later.base).filter((k) => k in written);
      later.base = { ...later.base, ...pick(written, carried) };
    }
    void idb.put(later);
  }
}

/** The user's answer to a conflict dialog. */
export async function resolveItem(seq: number, choices: Record<string, Choice>) {
  const item = outboxItems.get().find((i) => i.seq === seq);
  const def = item && defs.get(item.name);
  if (!item?.conflict || def?.conflict?.kind !== 'patch') return;
  const policy = def.conflict;
  const patch = applyChoices(policy.patchOf(item.variables), item.conflict.conflicts, choices);
  if (!patch) {
    await idb.delete(seq);
  } else {
    item.variables = {
      ...policy.withPatch(item.variables, patch),
      expectedVersion: item.conflict.version,
      idempotencyKey: newKey(),
    };
    item.base = pick(item.conflict.current, Object.keys(patch));
    item.state = 'pending';
    item.conflict = undefined;
    item.attempts = 0;
    await idb.put(item);
  }
  await refresh();
  void pump();
}

export async function retryItem(seq: number) {
  const item = outboxItems.get().find((i) => i.seq === seq);
  if (!item) return;
  item.state = 'pending';
  item.error = undefined;
  item.attempts = 0;
  item.variables = { ...item.variables, idempotencyKey: newKey() };
  await idb.put(item);
  await refresh();
  void pump();
}

export async function discardItem(seq: number) {
  await idb.delete(seq);
  await refresh();
  void pump();
}

export async function clearOutbox() {
  await idb.clear();
  await refresh();
}

/** The values of queued (not yet sent) patches of a record, for showing pending edits. */
export function pendingPatch(record: string): Row {
  const out: Row = {};
  for (const item of outboxItems.get()) {
    if (item.record !== record || item.state === 'failed') continue;
    const def = defs.get(item.name);
    if (def?.conflict?.kind === 'patch') Object.assign(out, def.conflict.patchOf(item.variables));
  }
  return out;
}
