// GraphiQL in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven by
// playwright-core) opens /graphql on the real app, types a board query, sets the
// Authorization header in GraphiQL's headers editor, runs it and reads the result pane.
// Every request the page makes must stay on the app's own origin (no CDN).
//
// Needs Chromium: `apt-get update && apt-get install -y --no-install-recommends chromium`
// (as root). Set PORTCULLIS_SKIP_BROWSER=1 to skip this file where no browser can run.
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { SKIP_BROWSER, launchChromium } from './helpers/browser';
import { createBoard, createItem, createOrganization, createSpace, mintToken, signUp } from './helpers/factories';
import { startTestApp, type TestApp } from './helpers/testApp';


const ITEM_NAME = `Portcullis-widget-${Date.now()}`;

(SKIP_BROWSER ? describe.skip : describe)('GraphiQL in headless Chromium', () => {
  let t: TestApp;
  let server: Server;
  let origin: string;
  let url: string;
  let browser: Browser;
  let boardId: string;
  let token: string;

  beforeAll(async () => {
    t = await startTestApp();
    const owner = await signUp(t, 'Browser owner');
    const organizationId = await createOrganization(t, owner.token, 'Browser org');
    const spaceId = await createSpace(t, owner.token, organizationId, 'Browser space');
    boardId = await createBoard(t, owner.token, spaceId, 'Browser board');
    await createItem(t, owner.token, boardId, ITEM_NAME);
    token = (await mintToken(t, owner.token, { role: 'VIEWER', boardIds: [boardId] })).secret;

    server = createServer(t.app.yoga);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    url = `${origin}/graphql`;

    browser = await launchChromium('the GraphiQL end-to-end test');
  });

  afterAll(async () => {
    await browser?.close();
    if (server) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    await t?.close();
  });

  // ---- GraphiQL (Monaco editors) -------------------------------------------------------
  const sel = {
    queryEditor: 'section.graphiql-query-editor .monaco-editor',
    headersTab: '.graphiql-editor-tools button[data-name="headers"]',
    headersEditor: '.monaco-editor[data-uri$="-request-headers.json"]',
    runButton: 'button.graphiql-execute-button',
    result: 'section.result-window[aria-label="Result Window"] .view-lines',
  };

  /** Replaces a Monaco editor's content as a user would: click, select all, type. */
  async function fillMonaco(page: Page, editorSelector: string, text: string) {
    await page.locator(editorSelector).locator('.view-lines').click();
    await page.keyboard.press('ControlOrMeta+A');
    await page.keyboard.press('Backspace');
    // One input event: no auto-closed brackets or quotes, no autocomplete popups.
    await page.keyboard.insertText(text);
    // Monaco renders spaces as NBSPs.
    await page.waitForFunction(
      ([s, expected]) =>
        (document.querySelector(`${s} .view-lines`) as HTMLElement | null)?.innerText.replace(/\u00a0/g, ' ').trim() === expected,
      [editorSelector, text] as const,
    );
  }

  async function resultText(page: Page) {
    return (await page.locator(sel.result).innerText()).replace(/\u00a0/g, ' ');
  }

  async function openGraphiQL(): Promise<{ context: BrowserContext; page: Page; requests: string[]; pageErrors: string[] }> {
    const context = await browser.newContext(); // a fresh profile: no stored headers or tabs
    const requests: string[] = [];
    const pageErrors: string[] = [];
    context.on('request', (request) => requests.push(request.url()));
    const page = await context.newPage();
    page.on('pageerror', (error) => pageErrors.push(error.message));
    // Whatever the page's Content-Security-Policy blocks is reported on the console.
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) pageErrors.push(message.text());
    });
    // A plain navigation sends Accept: text/html, which gets GraphiQL.
    const response = await page.goto(url, { waitUntil: 'load' });
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toMatch(/frame-ancestors 'none'/);
    await expect(page.title()).resolves.toBe('Portcullis GraphiQL');
    await page.locator(sel.queryEditor).locator('.view-lines').waitFor();
    return { context, page, requests, pageErrors };
  }

  /** Every request went to the app itself (or was an in-page blob/data URL). */
  function expectLocalOnly(requests: string[]) {
    expect(requests.length).toBeGreaterThan(0);
    const foreign = requests.filter((u) => !u.startsWith(`${origin}/`) && !u.startsWith(`blob:${origin}/`) && !u.startsWith('data:'));
    expect(foreign).toEqual([]);
  }

  const query = () => `{ board(id: "${boardId}") { name items { edges { node { name } } } } }`;

  test('with the Authorization header set in the headers editor, the result shows the item', async () => {
    const { context, page, requests, pageErrors } = await openGraphiQL();
    try {
      await fillMonaco(page, sel.queryEditor, query());
      await page.locator(sel.headersTab).click();
      await page.locator(sel.headersEditor).locator('.view-lines').waitFor({ state: 'visible' });
      await fillMonaco(page, sel.headersEditor, JSON.stringify({ Authorization: `Bearer ${token}` }));
      const graphqlPost = page.waitForRequest((request) => request.url() === url && request.method() === 'POST');
      await page.locator(sel.runButton).click();
      const sent = await graphqlPost;
      expect(sent.headers()['authorization']).toBe(`Bearer ${token}`);
      await page.locator(sel.result, { hasText: ITEM_NAME }).waitFor({ timeout: 20_000 });
      const text = await resultText(page);
      expect(text).toContain('Browser board');
      expect(text).not.toContain('UNAUTHENTICATED');
      expect(text).not.toContain('"errors"');
      expectLocalOnly(requests);
      expect(pageErrors).toEqual([]);
    } finally {
      await context.close();
    }
  });

  test('without a header, the result shows UNAUTHENTICATED and no item', async () => {
    const { context, page, requests, pageErrors } = await openGraphiQL();
    try {
      await fillMonaco(page, sel.queryEditor, query());
      await page.locator(sel.runButton).click();
      await page.locator(sel.result, { hasText: 'UNAUTHENTICATED' }).waitFor({ timeout: 20_000 });
      expect(await resultText(page)).not.toContain(ITEM_NAME);
      expectLocalOnly(requests);
      expect(pageErrors).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
