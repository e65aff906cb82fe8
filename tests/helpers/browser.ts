/**
 * Browser tests: the real server (API + built web app) on a seeded test database, driven through
 * Debian's Chromium with playwright-core. Without /usr/bin/chromium the suites announce that they
 * were not run (skipped, with the reason in their name); with BRANCHLINE_BROWSER_TESTS=required
 * (set by .ci/run) a missing browser fails instead.
 */
import { existsSync } from 'node:fs';
import { cp, mkdir, mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { describe, it } from 'vitest';
import { type App, type AppOptions, buildApp } from '../../src/app.ts';
import { ensureWebBuild, webDist } from '../../src/web/build.ts';
import { createTestDatabase, type TestDatabase, testLog } from './db.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const screenshotDir = fileURLToPath(new URL('../screenshots/', import.meta.url));

const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/**
 * `describe` for a browser suite: runs it when Chromium is installed; otherwise skips it with
 * the reason in its name, or fails when the browser tests are required.
 */
export function describeBrowser(name: string, fn: () => void) {
  if (existsSync(CHROMIUM)) {
    describe(name, fn);
  } else if (process.env.BRANCHLINE_BROWSER_TESTS === 'required') {
    describe(name, () => {
      it('needs Chromium', () => {
        throw new Error(`${CHROMIUM} is missing but BRANCHLINE_BROWSER_TESTS=required`);
      });
    });
  } else {
    describe.skip(`${name} (NOT RUN: ${CHROMIUM} is missing; apt-get install chromium)`, fn);
  }
}

export interface WebHarness {
  url: string;
  db: TestDatabase;
  app: App;
  browser: Browser;
  /** A fresh browser context (its own storage, service worker and offline switch). */
  context(opts?: { locale?: string }): Promise<BrowserContext>;
  /**
   * A page in a new context, signed in as `email`, showing `hash` (e.g. `#/stock`); `init` runs in
   * the page before the app (e.g. to take WebSocket away); `form` signs in through the sign-in
   * form instead of starting with the session it stores.
   */
  signedIn(
    email: string,
    hash?: string,
    opts?: {
      viewport?: { width: number; height: number };
      init?: () => void;
      form?: boolean;
      locale?: string;
    },
  ): Promise<Page>;
  /**
   * Stops (false) or resumes (true) serving the web app's files, so that a page that still loads
   * can only have come from the service worker's cache.
   */
  serveWeb(on: boolean): Promise<void>;
  /** Console errors and page errors seen so far (the app must produce none). */
  consoleErrors: string[];
  stop(): Promise<void>;
}

/** `sales`: the server's sales settings (e.g. its currency), as buildApp takes them. */
export async function startWebHarness(opts: { sales?: AppOptions['sales'] } = {}): Promise<WebHarness> {
  await ensureWebBuild(testLog);
  // A private copy of the build, which serveWeb(false) moves out of the server's reach.
  const webDir = await mkdtemp(path.join(tmpdir(), 'branchline-web-'));
  const served = path.join(webDir, 'dist');
  const hidden = path.join(webDir, 'hidden');
  await cp(webDist, served, { recursive: true });
  const db = await createTestDatabase({ seed: true });
  const app = buildApp({
    databaseUrl: db.url,
    log: testLog,
    poolSize: 8,
    webDist: served,
    feed: { pollMs: 500 },
    sales: opts.sales,
  });
  const { url } = await app.start(0, '127.0.0.1');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
  await mkdir(screenshotDir, { recursive: true });
  const consoleErrors: string[] = [];
  const contexts: BrowserContext[] = [];
  const sessions = new Map<string, Promise<unknown>>();

  const harness: WebHarness = {
    url,
    db,
    app,
    browser,
    consoleErrors,
    async serveWeb(on) {
      if (on) await rename(hidden, served);
      else await rename(served, hidden);
    },
    async context(options = {}) {
      const context = await browser.newContext({
        baseURL: url,
        viewport: { width: 1280, height: 800 },
        locale: options.locale,
      });
      contexts.push(context);
      context.on('page', (page) => watch(page));
      return context;
    },
    async signedIn(email, hash = '#/stock', opts = {}) {
      const context = await harness.context({ locale: opts.locale });
      if (!opts.form) {
        // The session the sign-in form would store (one login per user and run: scrypt is slow).
        sessions.set(email, sessions.get(email) ?? sessionFor(url, email));
        const stored = await (sessions.get(email) as Promise<unknown>);
        await context.addInitScript((value) => {
          if (location.protocol.startsWith('http')) localStorage.setItem('branchline.session', value);
        }, JSON.stringify(stored));
      }
      if (opts.init) await context.addInitScript(opts.init);
      const page = await context.newPage();
      if (opts.viewport) await page.setViewportSize(opts.viewport);
      if (opts.form) {
        await page.goto('/');
        await page.getByLabel('Email').fill(email);
        await page.getByLabel('Password').fill('branchline');
        await page.getByRole('button', { name: 'Sign in' }).click();
        await page.getByRole('button', { name: 'Sign out' }).waitFor();
        await page.evaluate((h) => {
          location.hash = h;
        }, hash);
      } else {
        await page.goto(`/${hash}`);
      }
      await page.getByTestId('connection').filter({ hasText: 'Connected' }).waitFor();
      return page;
    },
    async stop() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close().catch(() => {});
      await app.stop();
      await db.drop();
      await rm(webDir, { recursive: true, force: true });
    },
  };

  function watch(page: Page) {
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(`${page.url()}: ${msg.text()}`);
    });
    page.on('pageerror', (err) => consoleErrors.push(`${page.url()}: ${err.message}`));
  }
  return harness;
}

async function post(url: string, query: string, variables: Record<string, unknown>, token?: string) {
  const res = await fetch(`${url}/graphql`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return ((await res.json()) as { data: any }).data;
}

/** What web/src/session.ts stores after signing in as `email`. */
async function sessionFor(url: string, email: string) {
  const login = await post(
    url,
    `mutation ($email: String!, $password: String!) {
      login(email: $email, password: $password) {
        ... on MutationLoginSuccess { data { token user { id name email role branches { id code name } } } }
      }
    }`,
    { email, password: 'branchline' },
  );
  const { token, user } = login.login.data;
  const visible = await post(url, '{ branches(first: 200) { edges { node { id code name } } } }', {}, token);
  const branches = visible.branches.edges.map((e: { node: unknown }) => e.node);
  const { branches: own, ...rest } = user;
  return { token, user: rest, branches, branchId: (own[0] ?? branches[0]).id };
}

export function shot(page: Page, name: string) {
  return page.screenshot({ path: path.join(screenshotDir, `${name}.png`), fullPage: false });
}

/** Runs `fn` until it stops throwing (or the time is up), like waitFor in testing-library. */
export async function eventually<T>(fn: () => Promise<T> | T, timeoutMs = 5000, stepMs = 50): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await fn();
    } catch (err) {
      if (Date.now() > until) throw err;
      await new Promise((r) => setTimeout(r, stepMs));
    }
  }
}
