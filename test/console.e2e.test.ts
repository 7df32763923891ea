// The token console in a real browser: headless Chromium (Debian's /usr/bin/chromium, driven
// by playwright-core) against the real app on a loopback port. One person signs up in the
// console, gets an organization, spaces and boards through the API, then creates, filters,
// regenerates, revokes and deletes tokens through the pages, and every secret the page shows
// is tried against the API. A VIEWER member sees only what they may grant. Every page loads
// nothing from outside the gateway and breaks no rule of its Content-Security-Policy.
//
// Screenshots of each page go to test/artifacts/console/ (gitignored). With
// CONSOLE_README_SCREENSHOTS=1 the tokens page and the wizard are also written to
// src/console/screenshots/ (the README's pictures).
//
// Needs Chromium: `apt-get update && apt-get install -y --no-install-recommends chromium`
// (as root). Set PORTCULLIS_SKIP_BROWSER=1 to skip this file where no browser can run.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { SKIP_BROWSER, launchChromium } from './helpers/browser';
import { ensureConsoleBuilt } from '../src/server/console';
import { addMember, createBoard, createOrganization, createSpace, mintToken, signUp, type TestUser } from './helpers/factories';
import { serve, type LiveServer } from './helpers/liveServer';
import { dataOf, errorCodes, startTestApp, type TestApp } from './helpers/testApp';

const DATABASE = process.env.TEST_DATABASE_URL ? 'postgresql' : 'pglite';
const ARTIFACTS = path.join(__dirname, 'artifacts', 'console');
const README_SCREENSHOTS = path.join(__dirname, '..', 'src', 'console', 'screenshots');

const CREATE_ITEM = `mutation($input: CreateItemInput!) { createItem(input: $input) { id } }`;
const TOKEN_STATE = `query { apiTokens(first: 100) { edges { node { id name status expiresAt role scopeType space { name } } } } }`;

(SKIP_BROWSER ? describe.skip : describe)('the token console in headless Chromium', () => {
  let t: TestApp;
  let live: LiveServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  /** Every URL any page asked for, and every page error or CSP violation. */
  const requests: string[] = [];
  const problems: string[] = [];

  const email = `console-${Date.now()}@example.com`;
  const password = `console password ${Date.now()}`;
  let sessionToken: string;
  let organizationId: string;
  let engineeringBoard: string;
  let marketingBoard: string;
  let deploySecret: string;
  let deployTokenId: string;

  async function newContext(viewport = { width: 1280, height: 860 }): Promise<BrowserContext> {
    const ctx = await browser.newContext({ viewport, baseURL: live.origin });
    ctx.setDefaultTimeout(10_000);
    ctx.on('request', (request) => requests.push(request.url()));
    ctx.on('page', (p) => watch(p));
    return ctx;
  }

  function watch(p: Page) {
    p.on('pageerror', (error) => problems.push(`page error: ${error.message}`));
    p.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) problems.push(message.text());
    });
  }

  async function screenshot(p: Page, name: string, options: { readme?: boolean; fullPage?: boolean } = {}) {
    await p.screenshot({ path: path.join(ARTIFACTS, `${DATABASE}-${name}.png`), fullPage: options.fullPage ?? true });
    if (options.readme && process.env.CONSOLE_README_SCREENSHOTS === '1') {
      mkdirSync(README_SCREENSHOTS, { recursive: true });
      await p.screenshot({ path: path.join(README_SCREENSHOTS, `${name}.png`), fullPage: true });
    }
  }

  /** The table's rows (their Name cells). */
  const rowNames = async (p: Page) => (await p.locator('table.tokens tbody th[scope=row]').allInnerTexts()).map((s) => s.replace(/^Name\s*/, '').trim());

  /** Waits until `read()` gives `expected` (the page updates after its requests), then asserts it. */
  async function eventuallyEqual<T>(read: () => Promise<T>, expected: T, timeoutMs = 10_000) {
    const deadline = Date.now() + timeoutMs;
    let value = await read();
    while (JSON.stringify(value) !== JSON.stringify(expected) && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      value = await read();
    }
    expect(value).toEqual(expected);
  }
  const eventually = <T>(read: () => Promise<T>) => ({ toEqual: (expected: T) => eventuallyEqual(read, expected), toBe: (expected: T) => eventuallyEqual(read, expected) });

  async function createItemWith(secret: string, boardId: string) {
    return t.gql(CREATE_ITEM, { input: { boardId, name: `from ${DATABASE}` } }, secret);
  }

  beforeAll(async () => {
    mkdirSync(ARTIFACTS, { recursive: true });
    ensureConsoleBuilt();
    t = await startTestApp();
    live = await serve(t.app);
    browser = await launchChromium("the console's end-to-end test");
    context = await newContext();
    page = await context.newPage();
  });

  afterAll(async () => {
    await browser?.close();
    await live?.close();
    await t?.close();
  });

  afterEach(() => {
    // Every page load stayed on the gateway, and no page broke its CSP or threw.
    const foreign = requests.filter((u) => !u.startsWith(`${live.origin}/`) && !u.startsWith('data:'));
    expect(foreign).toEqual([]);
    expect(problems).toEqual([]);
  });

  test('the page and every asset come from the gateway under the console CSP', async () => {
    const response = await page.goto('/console');
    expect(response?.status()).toBe(200);
    expect(response?.headers()['content-security-policy']).toContain("script-src 'self'; style-src 'self'");
    // Signed out: the log-in page.
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    expect(new URL(page.url()).pathname).toBe('/console/login');
    expect(requests.some((u) => /\/console\/assets\/.+\.js$/.test(u))).toBe(true);
    expect(requests.some((u) => /\/console\/assets\/.+\.css$/.test(u))).toBe(true);
    await screenshot(page, 'login');
  });

  test('a wrong password is said in words, never as JSON', async () => {
    await page.getByLabel('Email').fill('nobody@example.com');
    await page.getByLabel('Password').fill('not the password');
    await page.getByRole('button', { name: 'Log in' }).click();
    const alert = page.getByRole('alert');
    await alert.waitFor();
    const text = await alert.innerText();
    expect(text).toMatch(/email|password/i);
    expect(text).not.toMatch(/[{}"]|extensions|UNAUTHENTICATED/);
  });

  test('sign up: the session lives in sessionStorage only (no localStorage, no cookie), the password is forgotten', async () => {
    await page.getByRole('link', { name: 'Create an account' }).click();
    await page.getByRole('heading', { name: 'Create your account' }).waitFor();
    await page.getByLabel('Your name').fill('Casey Console');
    await page.getByLabel('Email').fill(email);
    await page.getByLabel('Password').fill(password);
    await screenshot(page, 'signup');
    await page.getByRole('button', { name: 'Sign up' }).click();
    await page.getByRole('heading', { name: 'Your tokens', level: 1 }).waitFor();
    const storage = await page.evaluate(() => ({
      session: sessionStorage.getItem('portcullis.console.session'),
      localStorageKeys: Object.keys(localStorage),
      cookie: document.cookie,
    }));
    expect(storage.localStorageKeys).toEqual([]);
    expect(storage.cookie).toBe('');
    const session = JSON.parse(storage.session!);
    expect(session.user.email).toBe(email);
    expect(JSON.stringify(session)).not.toContain(password);
    expect(await context.cookies()).toEqual([]);
    sessionToken = session.token;
    // The organization, spaces and boards, through the API with that session.
    organizationId = await createOrganization(t, sessionToken, 'Acme');
    const engineering = await createSpace(t, sessionToken, organizationId, 'Engineering');
    const marketing = await createSpace(t, sessionToken, organizationId, 'Marketing');
    engineeringBoard = await createBoard(t, sessionToken, engineering, 'Roadmap');
    await createBoard(t, sessionToken, engineering, 'Releases');
    marketingBoard = await createBoard(t, sessionToken, marketing, 'Campaigns');
  });

  test('the wizard creates a SPACE-scoped AGENT service token expiring in 7 days; the secret shown works in that space only', async () => {
    await page.reload();
    await page.getByRole('link', { name: 'Create a token' }).click();
    await page.getByRole('heading', { name: 'Step 1 of 4: About the token' }).waitFor();
    // Next without a name: said in words, and the wizard stays on step 1.
    await page.getByRole('button', { name: 'Next' }).click();
    await expect(page.getByRole('alert').innerText()).resolves.toMatch(/Give the token a name/);
    await page.getByLabel('Name (required)').fill('CI deploy');
    await page.getByLabel('Description').fill('Posts build results');
    await page.getByRole('radio', { name: 'Service' }).check();
    await screenshot(page, 'wizard-1-about');
    await page.getByRole('button', { name: 'Next' }).click();

    await page.getByRole('heading', { name: 'Step 2 of 4: Permissions' }).waitFor();
    await page.getByRole('radio', { name: 'One space', exact: true }).check();
    await page.getByLabel('Organization', { exact: true }).selectOption({ label: 'Acme' });
    await page.getByLabel('Space', { exact: true }).selectOption({ label: 'Engineering' });
    // The OWNER may grant every role; each says what it allows.
    await page.getByRole('radio', { name: 'EDITOR' }).waitFor();
    expect(await page.locator('input[name=role]').evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value))).toEqual(['VIEWER', 'AGENT', 'EDITOR', 'OWNER']);
    await page.getByRole('radio', { name: 'AGENT' }).check();
    await expect(page.getByText('creates items and posts updates').isVisible()).resolves.toBe(true);
    await screenshot(page, 'wizard-2-permissions', { readme: true });
    await page.getByRole('button', { name: 'Next' }).click();

    await page.getByRole('heading', { name: 'Step 3 of 4: Expiry' }).waitFor();
    await page.getByRole('radio', { name: 'In 7 days' }).check();
    await page.getByRole('button', { name: 'Next' }).click();

    await page.getByRole('heading', { name: 'Step 4 of 4: Review' }).waitFor();
    const review = await page.locator('dl.review').innerText();
    expect(review).toMatch(/CI deploy/);
    expect(review).toMatch(/Space Engineering/);
    expect(review).toMatch(/AGENT/);
    expect(review).toMatch(/In 7 days/);
    await screenshot(page, 'wizard-4-review');
    await page.getByRole('button', { name: 'Create the token' }).click();

    await page.getByRole('heading', { name: 'Token created' }).waitFor();
    await expect(page.getByText('it is shown only this once').isVisible()).resolves.toBe(true);
    await page.getByRole('button', { name: 'Copy' }).waitFor();
    deploySecret = await page.getByRole('textbox', { name: 'Secret' }).inputValue();
    expect(deploySecret).toMatch(/^pcl_/);
    await screenshot(page, 'wizard-5-secret', { readme: true });

    // Works in its space, refused in the other one.
    const inSpace = await createItemWith(deploySecret, engineeringBoard);
    expect(inSpace.body.errors).toBeUndefined();
    const elsewhere = await createItemWith(deploySecret, marketingBoard);
    expect(errorCodes(elsewhere).length).toBe(1);
    expect(['NOT_FOUND', 'FORBIDDEN']).toContain(errorCodes(elsewhere)[0]);
    // As the API sees it: AGENT, SPACE Engineering, expiring in 7 days.
    const token = dataOf(await t.gql(TOKEN_STATE, {}, sessionToken)).apiTokens.edges[0].node;
    deployTokenId = token.id;
    expect(token).toMatchObject({ name: 'CI deploy', role: 'AGENT', scopeType: 'SPACE', space: { name: 'Engineering' }, status: 'ACTIVE' });
    const days = (new Date(token.expiresAt).getTime() - Date.now()) / 86_400_000;
    expect(days).toBeGreaterThan(6.99);
    expect(days).toBeLessThanOrEqual(7);

    // Leaving the page drops the secret for good: back on the list, no secret anywhere.
    await page.getByRole('link', { name: 'Done: back to your tokens' }).click();
    await page.getByRole('heading', { name: 'Your tokens', level: 1 }).waitFor();
    expect(await page.content()).not.toContain(deploySecret);
    await page.goBack();
    expect(await page.content()).not.toContain(deploySecret);
  });

  test('the tokens page: newest first, in words, with a name filter and a status filter', async () => {
    await mintToken(t, sessionToken, { name: 'Laptop scripts', kind: 'PERSONAL' });
    await page.goto('/console/tokens');
    await page.locator('table.tokens').waitFor();
    await eventually(() => rowNames(page)).toEqual(['Laptop scripts', 'CI deploy']);
    const deployRow = page.locator(`tr[data-token-id="${deployTokenId}"]`);
    const cells = await deployRow.innerText();
    expect(cells).toMatch(/pcl_/);
    expect(cells).toMatch(/service/);
    expect(cells).toMatch(/AGENT/);
    expect(cells).toMatch(/Space Engineering/);
    expect(cells).toMatch(/just now|never/); // used above; lastUsedAt is written in batches
    expect(cells).toMatch(/in 7 days/);
    expect(cells).toMatch(/active/);
    expect(cells).not.toContain(deploySecret);
    const laptopRow = await page.locator('tbody tr', { hasText: 'Laptop scripts' }).innerText();
    expect(laptopRow).toMatch(/personal/);
    expect(laptopRow).toMatch(/never\s+never/); // never used, never expires
    expect(laptopRow).toMatch(/Everything you can reach/);
    await screenshot(page, 'tokens', { readme: true });

    await page.getByLabel('Name contains').fill('deploy');
    await eventually(() => rowNames(page)).toEqual(['CI deploy']);
    await page.getByLabel('Name contains').fill('no such token');
    await page.getByText('No tokens match.').waitFor();
    await page.getByLabel('Name contains').fill('');
    await page.getByLabel('Status').selectOption('REVOKED');
    await page.getByText('No tokens match.').waitFor();
    await page.getByLabel('Status').selectOption('ACTIVE');
    await eventually(() => rowNames(page)).toEqual(['Laptop scripts', 'CI deploy']);
  });

  test('paging: 20 a page, next and previous', async () => {
    for (let i = 0; i < 20; i++) await mintToken(t, sessionToken, { name: `bulk ${String(i).padStart(2, '0')}`, kind: 'PERSONAL' });
    await page.goto('/console/tokens');
    await eventually(async () => (await rowNames(page)).length).toBe(20);
    expect((await rowNames(page))[0]).toBe('bulk 19');
    await page.getByRole('button', { name: 'Next page' }).click();
    await eventually(() => rowNames(page)).toEqual(['Laptop scripts', 'CI deploy']);
    expect(await page.getByRole('button', { name: 'Next page' }).isDisabled()).toBe(true);
    await page.getByRole('button', { name: 'Previous page' }).click();
    await eventually(async () => (await rowNames(page))[0]).toBe('bulk 19');
  });

  test('a slow request shows that it is working', async () => {
    await page.route('**/graphql', async (route) => {
      await new Promise((resolve) => setTimeout(resolve, 700));
      await route.continue();
    });
    try {
      await page.goto('/console/tokens');
      await page.getByRole('status').filter({ hasText: 'Loading tokens' }).waitFor();
      await page.locator('table.tokens').waitFor();
      expect(await page.getByText('Loading tokens').count()).toBe(0);
    } finally {
      await page.unroute('**/graphql');
    }
  });

  test('the wizard: a personal token for chosen boards, capped at VIEWER, expiring on a chosen date', async () => {
    await page.goto('/console/tokens/new');
    await page.getByLabel('Name (required)').fill('Board reader');
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('radio', { name: 'Chosen boards of one space' }).check();
    await page.getByLabel('Space', { exact: true }).selectOption({ label: 'Engineering' });
    // Next with no board chosen: said in words.
    await page.getByRole('radio', { name: 'VIEWER' }).check();
    await page.getByRole('button', { name: 'Next' }).click();
    await expect(page.getByRole('alert').innerText()).resolves.toBe('Choose at least one board.');
    await page.getByRole('checkbox', { name: 'Roadmap' }).check();
    await page.getByRole('checkbox', { name: 'Releases' }).check();
    await page.getByRole('button', { name: 'Next' }).click();
    await page.getByRole('radio', { name: 'On a date I choose' }).check();
    const date = new Date(Date.now() + 10 * 86_400_000).toISOString().slice(0, 10);
    await page.getByLabel(/Expiry date/).fill(date);
    await page.getByRole('button', { name: 'Next' }).click();
    const review = await page.locator('dl.review').innerText();
    expect(review).toMatch(/2 boards in Engineering/);
    expect(review).toMatch(new RegExp(`At the end of ${date}`));
    await page.getByRole('button', { name: 'Create the token' }).click();
    const secret = await page.getByRole('textbox', { name: 'Secret' }).inputValue();
    // It reads its boards and cannot write (VIEWER).
    const board = await t.gql(`query($id: ID!) { board(id: $id) { name } }`, { id: engineeringBoard }, secret);
    expect(board.body.data.board.name).toBe('Roadmap');
    expect(errorCodes(await createItemWith(secret, engineeringBoard))).toEqual(['FORBIDDEN']);
    const token = dataOf(await t.gql(TOKEN_STATE, {}, sessionToken)).apiTokens.edges[0].node;
    expect(token).toMatchObject({ name: 'Board reader', role: 'VIEWER', scopeType: 'BOARDS' });
    expect(new Date(token.expiresAt).getTime()).toBe(new Date(`${date}T23:59:59`).getTime());
  });

  test('the token page: edit, then regenerate (the old secret is refused, the new one works)', async () => {
    await page.goto('/console/tokens');
    await page.getByLabel('Name contains').fill('deploy');
    await eventually(() => rowNames(page)).toEqual(['CI deploy']);
    await page.getByRole('link', { name: 'CI deploy' }).click();
    await page.getByRole('heading', { name: 'CI deploy', level: 1 }).waitFor();
    await screenshot(page, 'token');

    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Name (required)').fill('CI deploy (main)');
    await page.getByLabel('Role').selectOption('VIEWER');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('button', { name: 'Save changes' }).waitFor({ state: 'detached' });
    await page.getByText('Changes saved.').waitFor();
    await page.getByRole('heading', { name: 'CI deploy (main)', level: 1 }).waitFor();
    expect(errorCodes(await createItemWith(deploySecret, engineeringBoard))).toEqual(['FORBIDDEN']);
    await page.getByRole('button', { name: 'Edit' }).click();
    await page.getByLabel('Role').selectOption('AGENT');
    await page.getByRole('button', { name: 'Save changes' }).click();
    await page.getByRole('button', { name: 'Save changes' }).waitFor({ state: 'detached' });
    await page.getByText('Changes saved.').waitFor();
    expect((await createItemWith(deploySecret, engineeringBoard)).body.errors).toBeUndefined();

    await page.getByRole('button', { name: 'Regenerate' }).click();
    const dialog = page.getByRole('dialog', { name: /Regenerate/ });
    await dialog.waitFor();
    await screenshot(page, 'token-regenerate');
    await dialog.getByRole('button', { name: 'Regenerate' }).click();
    await page.getByText('it is shown only this once').waitFor();
    const newSecret = await page.getByRole('textbox', { name: 'Secret' }).inputValue();
    expect(newSecret).toMatch(/^pcl_/);
    expect(newSecret).not.toBe(deploySecret);
    expect(errorCodes(await createItemWith(deploySecret, engineeringBoard))).toEqual(['UNAUTHENTICATED']);
    expect((await createItemWith(newSecret, engineeringBoard)).body.errors).toBeUndefined();
    deploySecret = newSecret;
  });

  test('revoke asks first; then the API refuses the token and the list shows it revoked', async () => {
    await page.getByRole('button', { name: 'Revoke' }).click();
    const dialog = page.getByRole('dialog', { name: /Revoke/ });
    await dialog.waitFor();
    await screenshot(page, 'token-revoke');
    // Focus starts on Cancel; Escape cancels, and changes nothing.
    await expect(page.evaluate(() => document.activeElement?.textContent)).resolves.toBe('Cancel');
    await page.keyboard.press('Escape');
    await dialog.waitFor({ state: 'hidden' });
    expect((await createItemWith(deploySecret, engineeringBoard)).body.errors).toBeUndefined();

    await page.getByRole('button', { name: 'Revoke' }).click();
    await dialog.getByRole('button', { name: 'Revoke the token' }).click();
    await page.getByText('Revoked: the token no longer works.').waitFor();
    expect(errorCodes(await createItemWith(deploySecret, engineeringBoard))).toEqual(['UNAUTHENTICATED']);

    await page.getByRole('link', { name: 'Your tokens' }).first().click();
    await page.getByLabel('Status').selectOption('REVOKED');
    await eventually(() => rowNames(page)).toEqual(['CI deploy (main)']);
    await expect(page.locator(`tr[data-token-id="${deployTokenId}"]`).innerText()).resolves.toMatch(/revoked/);
  });

  test('delete asks first; then the token is gone', async () => {
    const doomed = await mintToken(t, sessionToken, { name: 'Doomed token', kind: 'PERSONAL' });
    await page.goto(`/console/tokens/${doomed.id}`);
    await page.getByRole('heading', { name: 'Doomed token', level: 1 }).waitFor();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('dialog', { name: /Delete/ }).getByRole('button', { name: 'Delete the token' }).click();
    await page.getByText('The token “Doomed token” was deleted.').waitFor();
    await page.getByLabel('Name contains').fill('Doomed');
    await page.getByText('No tokens match.').waitFor();
    expect(errorCodes(await t.gql('{ viewer { user { id } } }', {}, doomed.secret))).toEqual(['UNAUTHENTICATED']);
  });

  test("an OWNER sees the organization's tokens with their creators, and its audit log", async () => {
    await page.goto('/console/tokens');
    await page.getByRole('link', { name: 'Organization Acme' }).click();
    await page.getByRole('heading', { name: 'Organization Acme' }).waitFor();
    await page.locator('table.tokens').waitFor();
    const row = await page.locator(`tr[data-token-id="${deployTokenId}"]`).innerText();
    expect(row).toMatch(/Casey Console/);
    expect(row).toMatch(/revoked/);
    await screenshot(page, 'organization-tokens');
    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.locator('table.audit').waitFor();
    const audit = await page.locator('table.audit').innerText();
    expect(audit).toMatch(/Casey Console/);
    expect(audit).toMatch(/revoked/i);
    expect(audit).not.toContain(deploySecret);
    await screenshot(page, 'organization-audit');
  });

  test('readable at 360 px wide: nothing wider than the screen', async () => {
    const narrow = await newContext({ width: 360, height: 780 });
    try {
      const p = await narrow.newPage();
      await p.goto('/console/login');
      await p.evaluate((token) => sessionStorage.setItem('portcullis.console.session', token), await page.evaluate(() => sessionStorage.getItem('portcullis.console.session')!));
      const routes = { tokens: '/console/tokens', wizard: '/console/tokens/new', token: `/console/tokens/${deployTokenId}`, audit: `/console/organizations/${organizationId}/audit` };
      for (const [name, route] of Object.entries(routes)) {
        await p.goto(route);
        await p.locator('main h1').waitFor();
        await p.locator('[role=status].busy').first().waitFor({ state: 'detached' });
        expect(await p.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
        await screenshot(p, `narrow-${name}`, { fullPage: false });
      }
    } finally {
      await narrow.close();
    }
  });

  test('a VIEWER member, with the keyboard alone: cannot pick EDITOR and sees no organization tab', async () => {
    const viewer: TestUser = await signUp(t, 'Vic Viewer');
    await addMember(t, sessionToken, { organizationId, email: viewer.email, role: 'VIEWER' });
    const viewerContext = await newContext();
    try {
      const p = await viewerContext.newPage();
      await p.goto('/console/login');
      await p.getByRole('heading', { name: 'Log in' }).waitFor();
      // Keyboard only: the skip link, then the form's fields in order, Enter submits.
      await p.keyboard.press('Tab');
      await expect(p.evaluate(() => document.activeElement?.textContent)).resolves.toBe('Skip to the content');
      await p.keyboard.press('Tab');
      await p.keyboard.type(viewer.email);
      await p.keyboard.press('Tab');
      await p.keyboard.type(viewer.password);
      await p.keyboard.press('Enter');
      await p.getByRole('heading', { name: 'Your tokens', level: 1 }).waitFor();
      await p.getByRole('link', { name: 'New token' }).waitFor();
      expect(await p.getByRole('link', { name: /Organization/ }).count()).toBe(0);

      // The wizard by keyboard: type the name, Enter for Next.
      await p.getByRole('link', { name: 'New token' }).focus();
      await p.keyboard.press('Enter');
      await p.getByLabel('Name (required)').waitFor();
      await p.getByLabel('Name (required)').focus();
      await p.keyboard.type('Viewer reader');
      await p.keyboard.press('Enter');
      await p.getByRole('heading', { name: 'Step 2 of 4: Permissions' }).waitFor();
      await p.getByRole('radio', { name: 'A whole organization' }).focus();
      await p.keyboard.press('Space');
      await p.getByRole('radio', { name: 'VIEWER' }).waitFor();
      expect(await p.locator('input[name=role]').evaluateAll((inputs) => inputs.map((i) => (i as HTMLInputElement).value))).toEqual(['NO_CAP', 'VIEWER']);
      expect(await p.getByRole('radio', { name: 'EDITOR' }).count()).toBe(0);
      await screenshot(p, 'viewer-wizard');
      // A service token needs EDITOR: none to pick, and the page says why.
      await p.getByRole('button', { name: 'Back' }).click();
      await p.getByRole('radio', { name: 'Service' }).check();
      await p.getByRole('button', { name: 'Next' }).click();
      await p.getByRole('radio', { name: 'A whole organization' }).check();
      await p.getByText(/Service tokens need EDITOR or OWNER in the whole scope; your role here is VIEWER/).waitFor();
      expect(await p.locator('input[name=role]').count()).toBe(0);
      await p.getByRole('button', { name: 'Next' }).click();
      await expect(p.getByRole('alert').innerText()).resolves.toMatch(/cannot grant any role here/);

      // The organization page itself says it is for owners only (and the API refuses the data).
      await p.goto(`/console/organizations/${organizationId}/tokens`);
      await p.getByText('Only the organization’s owners see this page.').waitFor();

      // A session ended elsewhere (here: logOut through the API): the page goes back to logging in.
      const session = JSON.parse((await p.evaluate(() => sessionStorage.getItem('portcullis.console.session')))!);
      dataOf(await t.gql('mutation { logOut }', {}, session.token));
      await p.goto('/console/tokens');
      await p.getByRole('heading', { name: 'Log in' }).waitFor();
      expect(await p.evaluate(() => sessionStorage.length)).toBe(0);
    } finally {
      await viewerContext.close();
    }
  });

  test("a refusal by the minting rule is said as what to do: an EDITOR cannot raise a token to OWNER", async () => {
    const editor: TestUser = await signUp(t, 'Eddie Editor');
    await addMember(t, sessionToken, { organizationId, email: editor.email, role: 'EDITOR' });
    const minted = await mintToken(t, editor.token, { name: 'Editor bot', kind: 'SERVICE', role: 'EDITOR', organizationId });
    const editorContext = await newContext();
    try {
      const p = await editorContext.newPage();
      await p.goto('/console/login');
      await p.getByLabel('Email').fill(editor.email);
      await p.getByLabel('Password').fill(editor.password);
      await p.getByRole('button', { name: 'Log in' }).click();
      await p.getByRole('link', { name: 'Editor bot' }).click();
      await p.getByRole('heading', { name: 'Editor bot', level: 1 }).waitFor();
      await p.getByRole('button', { name: 'Edit' }).click();
      await p.getByLabel('Role').selectOption('OWNER');
      await p.getByRole('button', { name: 'Save changes' }).click();
      const alert = p.getByRole('alert');
      await alert.waitFor();
      expect(await alert.innerText()).toBe('You can grant at most EDITOR in this scope (you asked for OWNER). Choose EDITOR or a lower role.');
      await screenshot(p, 'token-refused');
      // Nothing changed.
      const state = dataOf(await t.gql(TOKEN_STATE, {}, editor.token)).apiTokens.edges.find((e: { node: { id: string } }) => e.node.id === minted.id).node;
      expect(state.role).toBe('EDITOR');
    } finally {
      await editorContext.close();
    }
  });

  test('log out ends the session: the page forgets it and the API refuses it', async () => {
    await page.goto('/console/tokens');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('heading', { name: 'Log in' }).waitFor();
    expect(await page.evaluate(() => sessionStorage.length)).toBe(0);
    expect(errorCodes(await t.gql('{ viewer { user { id } } }', {}, sessionToken))).toEqual(['UNAUTHENTICATED']);
    // And the console never stored the password anywhere it could be read back.
    const everything = await page.evaluate(() => JSON.stringify({ ...sessionStorage, ...localStorage }) + document.cookie);
    expect(everything).not.toContain(password);
  });
});
