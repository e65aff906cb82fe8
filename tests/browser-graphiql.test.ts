/**
 * GraphiQL in the browser, under the page's Content-Security-Policy: it loads from the server's
 * own hashed files (no CDN, no inline script), runs `{ __typename }` and shows the result, with no
 * CSP violation or console error on the way.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeBrowser, shot, startWebHarness, type WebHarness } from './helpers/browser.ts';

describeBrowser('browser: GraphiQL', () => {
  let h: WebHarness;
  beforeAll(async () => {
    h = await startWebHarness();
  });
  afterAll(async () => {
    await h?.stop();
  });

  it('opens /graphql, runs { __typename } and shows the result', async () => {
    const context = await h.context();
    const page = await context.newPage();
    const violations: string[] = [];
    await page.exposeFunction('reportViolation', (v: string) => violations.push(v));
    await page.addInitScript(() => {
      document.addEventListener('securitypolicyviolation', (e) =>
        (window as unknown as { reportViolation(v: string): void }).reportViolation(
          `${e.violatedDirective} ${e.blockedURI}`,
        ),
      );
    });
    const foreign: string[] = [];
    page.on('request', (r) => {
      if (!r.url().startsWith(h.url) && !r.url().startsWith('data:') && !r.url().startsWith('blob:'))
        foreign.push(r.url());
    });
    const files = new Map<string, string | undefined>();
    page.on('response', (r) => {
      const path = new URL(r.url()).pathname;
      if (path.startsWith('/graphiql/')) files.set(path, r.headers()['cache-control']);
    });

    const response = await page.goto('/graphql');
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'");
    expect((await response?.body())?.length).toBeLessThan(20_000);
    const editor = page.locator('.graphiql-query-editor');
    await editor.waitFor({ timeout: 30_000 });
    // Replace the default query with our own, through the editor as a person would.
    await editor.click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Delete');
    await page.keyboard.insertText('{ __typename }');
    await expect.poll(() => editor.innerText()).toMatch(/\{\s*__typename\s*\}/);
    // A suggestion list the editor may still open would take the pointer: press the button itself.
    // GraphiQL learns the new operation name after a debounce: under load a click right after
    // typing still runs the default tab's `SignIn` ("Cannot infer operation SignIn"). Press again
    // until the answer to what the editor shows comes back.
    const execute = page.getByRole('button', { name: /Execute query/ });
    const result = page.locator('.graphiql-response');
    await expect
      .poll(
        async () => {
          const text = await result.innerText().catch(() => '');
          if (!/"__typename":\s*"Query"/.test(text))
            await execute.evaluate((b) => (b as HTMLElement).click());
          return text;
        },
        { timeout: 15_000, interval: 1000 },
      )
      .toMatch(/"__typename":\s*"Query"/);
    // The schema came too (introspection): the docs explorer lists the root types.
    await page.getByRole('button', { name: 'Show Documentation Explorer' }).click();
    await page.locator('.graphiql-doc-explorer').getByText('Query', { exact: true }).first().waitFor();
    await shot(page, 'graphiql');

    // GraphiQL's script, style and the editor's workers came as long-cached files of this server.
    const names = [...files.keys()].map((p) => p.replace(/\.[0-9a-f]{16}\./, '.'));
    expect(names).toEqual(
      expect.arrayContaining([
        '/graphiql/graphiql.js',
        '/graphiql/graphiql.css',
        '/graphiql/graphql.worker.js',
      ]),
    );
    for (const [path, cache] of files) expect(cache, path).toContain('immutable');

    expect(violations).toEqual([]);
    expect(foreign).toEqual([]);
    expect(h.consoleErrors).toEqual([]);
  });
});
