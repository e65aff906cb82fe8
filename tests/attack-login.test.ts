/**
 * Sign-in under attack (issue 9, "Sign-in"): password guessing in one request and in many, a
 * burst of parallel wrong passwords, guessing across many accounts from one address, and what a
 * failed sign-in leaves in the log. The server runs in its own process with small limits; a
 * victim from 127.0.0.2 must keep its answers within the bound throughout.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type App, buildApp } from '../src/app.ts';
import { LoginGuard } from '../src/auth/login-guard.ts';
import { PASSWORD } from './helpers/api.ts';
import { startTarget, type Target, underAttack } from './helpers/attack.ts';
import { createTestDatabase, type TestDatabase } from './helpers/db.ts';

/** Victim bound: the unprotected server stalled others 5-10 s under these attacks. */
const BOUND_MS = 3500;
/**
 * The signed-in victim's bound during the 200-password burst. `{ me }` uses no thread-pool work,
 * so the old code kept it near 0.7 s too: what failed there was the static file (5.4 s, held
 * by scrypt filling libuv's pool), checked against BOUND_MS. The victim only has to stay
 * responsive; seen at 3.7 s at a load average of 15 on two cores.
 */
const VICTIM_BURST_BOUND_MS = 6000;

const LIMITS = {
  maxFailures: 5,
  addressMaxFailures: 10,
  windowMs: 3000,
  // Long enough that a slow machine's pauses between requests do not outlast it.
  firstDelayMs: 3000,
  maxDelayMs: 3000,
  maxConcurrentHashes: 2,
  hashQueue: 8,
};

const LOGIN = `mutation ($email: String!, $password: String!) {
  login(email: $email, password: $password) {
    __typename ... on Error { message } ... on TooManyAttempts { retryAfterSeconds }
  }
}`;

interface LoginResult {
  __typename: string;
  message?: string;
  retryAfterSeconds?: number;
}

let target: Target;
let webDir: string;
beforeAll(async () => {
  webDir = mkdtempSync(path.join(tmpdir(), 'bl-attack-login-'));
  writeFileSync(path.join(webDir, 'index.html'), '<!doctype html><title>Branchline</title>');
  target = await startTarget({ login: LIMITS, webDist: webDir });
});
afterAll(async () => {
  await target?.stop();
  if (webDir) rmSync(webDir, { recursive: true, force: true });
});

async function signIn(email: string, password: string, localAddress: string): Promise<LoginResult> {
  const res = await target.gql<{ login: LoginResult }>(LOGIN, { email, password }, { localAddress });
  expect(res.errors, JSON.stringify(res.errors)).toBeUndefined();
  return res.data?.login as LoginResult;
}

/** GETs `url` from 127.0.0.2 every 100 ms until stop(); reports the slowest answer (ms). */
function probe(url: string) {
  let running = true;
  let worst = 0;
  const failures: string[] = [];
  const once = () =>
    new Promise<void>((resolve) => {
      const since = performance.now();
      const req = http.get(url, { localAddress: '127.0.0.2', agent: false, timeout: 20_000 }, (res) => {
        res.resume();
        res.on('end', () => {
          worst = Math.max(worst, performance.now() - since);
          if (res.statusCode !== 200) failures.push(`${url}: ${res.statusCode}`);
          resolve();
        });
      });
      req.on('timeout', () => req.destroy(new Error('timeout')));
      req.on('error', (err) => {
        worst = Math.max(worst, performance.now() - since);
        failures.push(`${url}: ${err.message}`);
        resolve();
      });
    });
  const loop = (async () => {
    while (running) {
      await once();
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { worst, failures };
    },
  };
}

describe('login under attack', () => {
  it('745 login aliases in one request: no success, others unaffected', async () => {
    const aliases = Array.from({ length: 745 }, (_, i) => {
      const password = i === 744 ? PASSWORD : `wrong-${i}`;
      return `l${i}: login(email: "manager.hb@example.com", password: "${password}") { __typename }`;
    });
    const { result } = await underAttack(target, BOUND_MS, () =>
      target.gql(`mutation { ${aliases.join('\n')} }`, undefined, {
        localAddress: '127.0.0.10',
        timeoutMs: 20_000,
      }),
    );
    // Refused as a whole (an alias rule) or answered alias by alias: never a session.
    const answers = Object.values(result.data ?? {}) as LoginResult[];
    expect(answers.filter((a) => a.__typename === 'MutationLoginSuccess')).toEqual([]);
    if (answers.length > 0) {
      const hashed = answers.filter((a) => a.__typename === 'AuthenticationFailed').length;
      expect(hashed).toBeLessThanOrEqual(LIMITS.maxFailures + 1);
      expect(answers.at(-1)?.__typename).toBe('TooManyAttempts');
    }
  });

  it('20 separate wrong sign-ins, then the right password: still throttled', async () => {
    const results: LoginResult[] = [];
    for (let i = 0; i < 19; i++)
      results.push(await signIn('clerk.hb@example.com', `wrong-${i}`, '127.0.0.11'));
    results.push(await signIn('clerk.hb@example.com', PASSWORD, '127.0.0.11'));
    const kinds = results.map((r) => r.__typename);
    expect(kinds.slice(0, LIMITS.maxFailures)).toEqual(
      Array(LIMITS.maxFailures).fill('AuthenticationFailed'),
    );
    expect(kinds.filter((k) => k === 'AuthenticationFailed').length).toBeLessThanOrEqual(
      LIMITS.maxFailures + 1,
    );
    const last = results.at(-1) as LoginResult;
    expect(last.__typename).toBe('TooManyAttempts');
    expect(last.retryAfterSeconds).toBeGreaterThanOrEqual(1);
    expect(last.message).toMatch(/try again in \d+ seconds?/);
  });

  it('200 wrong passwords in a burst: throttled at once, hashing capped, then the right password works', async () => {
    const statics = [probe(`${target.url}/`), probe(`${target.url}/health`)];
    const started = performance.now();
    const { result: answers } = await underAttack(target, VICTIM_BURST_BOUND_MS, () =>
      Promise.all(
        Array.from({ length: 200 }, (_, i) => signIn('manager.ng@example.com', `wrong-${i}`, '127.0.0.12')),
      ),
    );
    const burstMs = performance.now() - started;
    const [web, health] = await Promise.all(statics.map((s) => s.stop()));
    expect(web?.failures).toEqual([]);
    expect(health?.failures).toEqual([]);
    expect(web?.worst, `static file took ${Math.round(web?.worst ?? 0)} ms`).toBeLessThan(BOUND_MS);
    expect(health?.worst, `/health took ${Math.round(health?.worst ?? 0)} ms`).toBeLessThan(BOUND_MS);

    const kinds = answers.map((a) => a.__typename);
    const hashed = kinds.filter((k) => k === 'AuthenticationFailed').length;
    expect(kinds.filter((k) => k !== 'AuthenticationFailed' && k !== 'TooManyAttempts')).toEqual([]);
    // Only attempts that got a hashing slot before the account was throttled were checked.
    expect(hashed).toBeGreaterThanOrEqual(1);
    expect(hashed).toBeLessThanOrEqual(LIMITS.maxFailures + LIMITS.maxConcurrentHashes);
    expect(burstMs, 'the burst was answered').toBeLessThan(10_000);

    const waitS = Math.max(...answers.map((a) => a.retryAfterSeconds ?? 0));
    expect(waitS).toBeGreaterThanOrEqual(1);
    expect(waitS).toBeLessThanOrEqual(LIMITS.maxDelayMs / 1000);
    expect((await signIn('manager.ng@example.com', PASSWORD, '127.0.0.12')).__typename).toBe(
      'TooManyAttempts',
    );
    await new Promise((r) => setTimeout(r, waitS * 1000 + 200));
    expect((await signIn('manager.ng@example.com', PASSWORD, '127.0.0.12')).__typename).toBe(
      'MutationLoginSuccess',
    );
  });

  it('guesses across many accounts from one address: the address is throttled, not the accounts', async () => {
    await underAttack(target, BOUND_MS, async () => {
      for (let i = 0; i < LIMITS.addressMaxFailures; i++) {
        const r = await signIn(`guess-${i}@example.com`, 'wrong', '127.0.0.13');
        expect(r.__typename).toBe('AuthenticationFailed');
      }
      const blocked = await signIn('clerk.ng@example.com', PASSWORD, '127.0.0.13');
      expect(blocked.__typename).toBe('TooManyAttempts');
      expect((await signIn('guess-new@example.com', 'wrong', '127.0.0.13')).__typename).toBe(
        'TooManyAttempts',
      );
      // The same account from another address is not held up.
      expect((await signIn('clerk.ng@example.com', PASSWORD, '127.0.0.14')).__typename).toBe(
        'MutationLoginSuccess',
      );
    });
  });
});

describe('failed sign-ins in the log', () => {
  let db: TestDatabase;
  let app: App;
  let url: string;
  const lines: string[] = [];
  beforeAll(async () => {
    db = await createTestDatabase({ seed: true });
    const log = pino({ level: 'debug' }, { write: (line: string) => void lines.push(line) });
    app = buildApp({ databaseUrl: db.url, log, poolSize: 3, login: { ...LIMITS, maxFailures: 2 } });
    url = `${(await app.start(0, '127.0.0.1')).url}/graphql`;
  });
  afterAll(async () => {
    await app?.stop();
    await db?.drop();
  });

  it('never contain what was typed as an email', async () => {
    const typed = ['Manager.DT@example.com', 'secret.person@example.org', 'wrongpass-secret@example.net'];
    const kinds: string[] = [];
    for (const email of [...typed, typed[0], typed[0]] as string[]) {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ query: LOGIN, variables: { email, password: 'not-the-password' } }),
      });
      kinds.push(((await res.json()) as { data: { login: LoginResult } }).data.login.__typename);
    }
    expect(kinds).toEqual([
      'AuthenticationFailed',
      'AuthenticationFailed',
      'AuthenticationFailed',
      'AuthenticationFailed',
      'TooManyAttempts',
    ]);
    const text = lines.join('').toLowerCase();
    const refused = lines.map((l) => JSON.parse(l)).filter((l) => /login refused/.test(l.msg));
    expect(refused.length).toBe(4);
    for (const entry of refused) {
      expect(entry.address).toBe('127.0.0.1');
      expect(entry.account).toMatch(/^[0-9a-f]{12}$/);
    }
    for (const email of typed) {
      const lower = email.toLowerCase();
      expect(text).not.toContain(lower);
      expect(text).not.toContain(lower.split('@')[0]);
    }
  });
});

describe('LoginGuard', () => {
  it('remembers a bounded number of accounts and addresses', () => {
    const guard = new LoginGuard({ maxEntries: 100 });
    for (let i = 0; i < 5000; i++) guard.failed(`account-${i}`, `10.0.${i >> 8}.${i & 255}`);
    const { accounts, addresses } = guard.stats();
    expect(accounts).toBeLessThanOrEqual(100);
    expect(addresses).toBeLessThanOrEqual(100);
  });

  it('delays exponentially up to the maximum, and a success resets the account', () => {
    const guard = new LoginGuard({ maxFailures: 3, addressMaxFailures: 1000, maxDelayMs: 5000 });
    const delays = Array.from({ length: 7 }, (_, i) => guard.failed('a', '10.0.0.1', 1000 + i));
    expect(delays).toEqual([0, 0, 1000, 2000, 4000, 5000, 5000]);
    expect(guard.waitMs('a', '10.0.0.2', 1006)).toBe(5000);
    guard.succeeded('a');
    expect(guard.waitMs('a', '10.0.0.2', 1006)).toBe(0);
  });

  it('runs at most maxConcurrentHashes checks and refuses beyond the queue', async () => {
    const guard = new LoginGuard({ maxConcurrentHashes: 2, hashQueue: 3 });
    let running = 0;
    let most = 0;
    const release: (() => void)[] = [];
    const check = async () => {
      running++;
      most = Math.max(most, running);
      await new Promise<void>((r) => release.push(r));
      running--;
    };
    const accepted = Array.from({ length: 10 }, () => guard.hashing(check));
    expect(accepted.filter((p) => p === undefined).length).toBe(5);
    let done = false;
    const all = Promise.all(accepted).then(() => {
      done = true;
    });
    while (!done) {
      await new Promise((r) => setTimeout(r, 5));
      for (const r of release.splice(0)) r();
    }
    await all;
    expect(most).toBe(2);
  });
});
