/**
 * Issue 9, the hostile-input corpus: documents and variable sets generated from the schema (every
 * argument and input field of every query, mutation and subscription) plus hand-written documents,
 * raw HTTP bodies and raw graphql-ws messages (tests/helpers/hostile-*.ts), sent to a real server
 * in its own process over HTTP, SSE and graphql-ws, as the admin (the most to lose) and, for a
 * subset, as a clerk and without a token. Every case gets a clean answer within 5 s (never a 500,
 * a masked internal error, a hang, or a socket closed without a graphql-ws code); afterwards the
 * same process answers and a checksum of every table is what it was before.
 */
import { appendFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema } from '../src/schema/index.ts';
import { allTables, checksum } from './helpers/api.ts';
import { expectSurvived, startTarget, type Target } from './helpers/attack.ts';
import { loadFixtures, type OperationCase, schemaCases, type Transport } from './helpers/hostile-corpus.ts';
import { documentCases } from './helpers/hostile-documents.ts';
import { httpRawCases } from './helpers/hostile-http.ts';
import { type AnyCase, type Env, type Outcome, sendAll } from './helpers/hostile-send.ts';
import { wsRawCases } from './helpers/hostile-ws.ts';

const fields = schemaCases(schema);
const generated = fields.flatMap((f) => f.cases);

/** The first `n` cases of every argument position. */
function firstOfEach(cases: OperationCase[], n: number): OperationCase[] {
  const seen = new Map<string, number>();
  return cases.filter((c) => {
    const k = seen.get(c.group ?? c.label) ?? 0;
    seen.set(c.group ?? c.label, k + 1);
    return k < n;
  });
}

function buildCorpus(): AnyCase[] {
  const reads = generated.filter((c) => c.transport === 'http');
  const subscriptions = generated.filter((c) => c.transport === 'sse');
  const docs = documentCases();
  const small = docs.filter((c) => c.kind !== 'huge');
  const as = (cases: OperationCase[], transport: Transport, who: OperationCase['who']) =>
    cases.filter((c) => !c.anonOnly || who === 'anon').map((c) => ({ ...c, transport, who }));
  return [
    // Every generated case as the admin: queries and mutations over HTTP, subscriptions over both.
    ...reads,
    ...subscriptions,
    ...as(subscriptions, 'ws', 'admin'),
    // Queries and mutations over the streaming transports too, one or two payloads per position.
    ...as(firstOfEach(reads, 1), 'sse', 'admin'),
    ...as(firstOfEach(reads, 1), 'ws', 'admin'),
    // The other viewers: a clerk and nobody.
    ...as(firstOfEach(reads, 1), 'http', 'clerk'),
    ...as(firstOfEach(reads, 1), 'http', 'anon'),
    ...as(firstOfEach(subscriptions, 1), 'sse', 'clerk'),
    ...as(firstOfEach(subscriptions, 1), 'ws', 'anon'),
    // Whole documents, raw bodies and protocol messages.
    ...docs,
    ...as(small, 'http', 'anon'),
    ...as(small, 'sse', 'admin'),
    ...as(small, 'ws', 'admin'),
    ...httpRawCases(),
    ...wsRawCases(),
    ...wsRawCases()
      .filter((c) => c.init === 'token')
      .map((c) => ({
        ...c,
        who: 'anon' as const,
        closeCodes: [...(c.closeCodes ?? []), 4403],
        mayStayOpen: true,
      })),
  ];
}

const corpus = buildCorpus();
const on = (t: Transport) => corpus.filter((c) => c.transport === t);
const counts = { http: on('http').length, sse: on('sse').length, ws: on('ws').length };

/** Columns that merely using the API moves (when a token was last used), left out of the checksum. */
const BOOKKEEPING = { api_tokens: ['last_used_at'] };

let target: Target;
let env: Env;
let tables: string[];
let before: Record<string, string>;
/** The three transports run side by side (the streaming ones mostly wait); each test awaits its own. */
let runs: Record<Transport, Promise<Outcome[]>>;
const outcomes: Outcome[] = [];

beforeAll(async () => {
  target = await startTarget();
  const fx = await loadFixtures(target.db.pool);
  env = { url: target.url, wsUrl: target.wsUrl, fx, tokens: target.tokens };
  tables = await allTables(target.db.pool);
  before = await checksum(target.db.pool, tables, BOOKKEEPING);
  runs = {
    http: sendAll(on('http'), env, 10),
    sse: sendAll(on('sse'), env, 8),
    ws: sendAll(on('ws'), env, 8),
  };
});
afterAll(async () => {
  await target?.stop();
});

async function expectClean(run: Promise<Outcome[]>) {
  const results = await run;
  outcomes.push(...results);
  // CORPUS_DUMP=<file>: every case with its outcome, for a look at what the server answered.
  const dump = process.env.CORPUS_DUMP;
  if (dump)
    appendFileSync(
      dump,
      results
        .map((r) => `${r.ms} ms ${r.c.transport}/${r.c.who} [${r.c.kind}] ${r.c.label} => ${r.outcome}\n`)
        .join(''),
    );
  const problems = results
    .filter((r) => r.problem)
    .map((r) => `${r.c.transport}/${r.c.who} ${r.c.label}: ${r.problem}`);
  expect(problems).toEqual([]);
}

describe('hostile-input corpus', () => {
  it('is generated from the schema: every argument position of every root field is attacked', () => {
    for (const f of fields) expect(f.cases.length, `${f.root} ${f.field}`).toBeGreaterThan(0);
    const mutations = Object.values(schema.getMutationType()?.getFields() ?? {});
    const attacked = new Set(generated.map((c) => c.group?.split('.').slice(0, 2).join('.')));
    for (const m of mutations) expect(attacked.has(`mutation.${m.name}`), m.name).toBe(true);
    expect(corpus.length).toBeGreaterThan(200);
  });

  it(`${counts.http} documents and variable sets over HTTP (POST, GET) get clean answers`, async () => {
    await expectClean(runs.http);
  }, 180_000);

  it(`${counts.sse} over SSE (Yoga's subscriptions over HTTP) get clean answers`, async () => {
    await expectClean(runs.sse);
  }, 180_000);

  it(`${counts.ws} over graphql-ws get clean answers or clean close codes`, async () => {
    await expectClean(runs.ws);
  }, 180_000);

  it(`after all ${corpus.length} documents and variable sets over HTTP, SSE and graphql-ws: same process, every table unchanged`, async () => {
    await expectSurvived(target);
    expect(await checksum(target.db.pool, tables, BOOKKEEPING)).toEqual(before);
    const tally = new Map<string, number>();
    for (const o of outcomes) {
      const k = `${o.c.transport} ${o.outcome.replace(/ \(open\)$/, '')}`;
      tally.set(k, (tally.get(k) ?? 0) + 1);
    }
    console.log(
      [...tally]
        .sort((a, b) => b[1] - a[1])
        .map(([k, n]) => `${n} ${k}`)
        .join('\n'),
    );
  });
});
