/**
 * The web playground in a real browser: Debian's Chromium driven by playwright-core against the
 * real offline runtime (rule refiner, sketch generator, tiny ONNX encoder, exact index, SQLite) on
 * a small demo gallery in a temporary DATA_DIR. Screenshots go to out/screenshots/.
 *
 * Skipped (with the reason) where /usr/bin/chromium is missing; CI installs it.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type Browser, type BrowserContext, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WebChat } from '../../../adapters/chat/web/adapter.ts';
import { loadConfig } from '../../../bots/config.ts';
import { startFrontEnd } from '../../../bots/front-ends.ts';
import { buildRuntime, type Runtime } from '../../../bots/runtime.ts';
import { webFrontEnd } from '../../../bots/web.ts';

const CHROMIUM = '/usr/bin/chromium';
const SKIP = existsSync(CHROMIUM) ? null : `${CHROMIUM} is missing (install it: apt-get install -y chromium)`;
if (SKIP) console.warn(`web-browser.test.ts skipped: ${SKIP}`);

/** The page's `document`, as far as these checks use it (the tests compile without the DOM library). */
declare const document: {
  querySelectorAll(selector: string): ArrayLike<{ complete: boolean; naturalWidth: number }>;
};

const DESKTOP = { width: 1280, height: 800 };
const PHONE = { width: 390, height: 844 };

/** Runs in the page: every image matching the selector has loaded and decoded. */
const imagesDecoded = (selector: string) => {
  const imgs = Array.from(document.querySelectorAll(selector));
  return imgs.length > 0 && imgs.every((i) => i.complete && i.naturalWidth > 0);
};

const SHOTS = resolve('out', 'screenshots');
const BUNDLED_ENCODER = resolve('models', 'tiny-encoder.onnx');

describe('web playground in Chromium, on the real offline runtime', () => {
  let dir: string;
  let rt: Runtime;
  let web: WebChat;
  let browser: Browser;
  let base: string;
  /** "My" browser (one cookie jar across the tests below), and someone else's. */
  let me: BrowserContext;
  let them: BrowserContext;

  beforeAll(async () => {
    if (SKIP) return;
    dir = await mkdtemp(join(tmpdir(), 'genir-web-'));
    let encoder = BUNDLED_ENCODER;
    if (!existsSync(encoder)) {
      // A fresh checkout without the built model: build the same fixed-weight encoder here.
      const { buildTinyEncoder } = await import('../../../scripts/build-tiny-encoder.ts');
      const { model, config } = buildTinyEncoder();
      encoder = join(dir, 'tiny-encoder.onnx');
      await writeFile(encoder, model);
      await writeFile(join(dir, 'tiny-encoder.json'), JSON.stringify(config));
    }
    const config = loadConfig(
      {
        DATA_DIR: join(dir, 'data'),
        OUT_DIR: join(dir, 'out'),
        DEMO_GALLERY_SIZE: '200',
        LOG_LEVEL: 'silent',
        ENCODER_MODEL: encoder,
        WEB_PORT: '0',
        WEB_HOST: '127.0.0.1',
      },
      { dotenv: false },
    );
    rt = await buildRuntime(config);
    web = await startFrontEnd(webFrontEnd, rt);
    base = `http://127.0.0.1:${web.port}`;
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
      ],
    });
    me = await browser.newContext({ viewport: DESKTOP });
    them = await browser.newContext({ viewport: DESKTOP });
    await mkdir(SHOTS, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
    await rt?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A page (of `context`, at `viewport`) that may only talk to our server; every page error is collected. */
  async function openPage(
    context: BrowserContext,
    viewport = DESKTOP,
  ): Promise<{ page: Page; errors: string[] }> {
    const page = await context.newPage();
    await page.setViewportSize(viewport);
    // CI runs the whole suite on 2 cores: be patient, the assertions do not depend on time.
    page.setDefaultTimeout(90_000);
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => {
      // A 404 the page asked for on purpose (an unknown thread) is no error of the page.
      if (msg.type() === 'error' && !/status of 404/.test(msg.text())) errors.push(msg.text());
    });
    await page.route('**/*', (route) => {
      const host = new URL(route.request().url()).hostname;
      return host === '127.0.0.1' ? route.continue() : route.abort();
    });
    return { page, errors };
  }

  const shot = (page: Page, name: string) =>
    page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: false });

  /** Waits until round n is on the page with its synthetic image and every tile image decoded. */
  async function waitForRound(page: Page, n: number) {
    const card = page.locator(`.round[data-round="${n}"]`);
    await card.waitFor();
    await page.waitForFunction(imagesDecoded, `.round[data-round="${n}"] img`);
    await page.locator('.typing').waitFor({ state: 'detached' });
    return card;
  }

  /** The stored thread of a web thread id (its key carries the browser it belongs to). */
  async function stored(threadId: string) {
    const states = await rt.engine.threads('web:', 1000);
    return states.find((s) => s.key.endsWith(`:${threadId}`)) ?? null;
  }

  const threadIdOf = (page: Page) => new URL(page.url()).pathname.split('/').pop() as string;

  let firstThread = '';

  it('opens / as a new search (no thread stored until a message), then describe, correct, pick, reload', async (ctx) => {
    ctx.skip(SKIP !== null, SKIP ?? '');
    const { page, errors } = await openPage(me);
    await page.goto(base);
    await page.locator('.hero').waitFor();
    expect(new URL(page.url()).pathname).toBe('/');
    expect(await page.locator('#thread-title').textContent()).toBe('New search');
    expect(await rt.engine.threads('web:', 10)).toEqual([]);
    await shot(page, '01-empty-thread');

    // Round 1 from a description: only now is there a thread, and the address names it.
    await page.locator('#input').fill('a red circle at the top left');
    await page.locator('#input').press('Enter');
    const r1 = await waitForRound(page, 1);
    await expect.poll(() => new URL(page.url()).pathname).toMatch(/^\/t\/[A-Za-z0-9_-]+$/);
    const threadPath = new URL(page.url()).pathname;
    expect(await r1.locator('.tile').count()).toBe(10);
    expect(await r1.locator('.synthetic-img').count()).toBe(1);
    // TRANSCRIPTS=opt-in (the default): the research notice on round 1 and the Keep button.
    expect(await r1.locator('.research').textContent()).toContain('Research:');
    expect(await r1.locator('.round-actions .keep').isVisible()).toBe(true);
    expect(await r1.locator('.query').textContent()).toContain('red circle');
    expect(await r1.locator('.tile .num').allTextContents()).toEqual([
      '1',
      '2',
      '3',
      '4',
      '5',
      '6',
      '7',
      '8',
      '9',
      '10',
    ]);
    expect(await page.locator('.msg-user .bubble').first().textContent()).toBe(
      'a red circle at the top left',
    );
    // Desktop: keyboard hints shown, tile controls wait for the pointer.
    expect(await page.locator('#hint').isVisible()).toBe(true);
    await shot(page, '02-round-1');

    // A correction starts round 2; round 1 becomes history.
    await page.locator('#input').fill('the circle is blue, on a yellow background');
    await page.locator('#input').press('Enter');
    const r2 = await waitForRound(page, 2);
    expect(await r2.locator('.tile').count()).toBe(10);
    const query2 = (await r2.locator('.query').textContent()) ?? '';
    expect(query2).toContain('blue');
    expect(query2).toContain('yellow');
    expect(await r1.getAttribute('class')).toContain('past');
    expect(await r2.getAttribute('class')).toContain('current');
    await shot(page, '03-round-2');

    // Clicking a tile picks it: the original opens full size and the thread is marked found.
    const picked = r2.locator('.tile[data-n="3"]');
    const pickedAsset = await picked.getAttribute('data-asset-id');
    await picked.locator('img').click();
    await page.locator('.found-card').waitFor();
    await page.locator('#lightbox:not([hidden])').waitFor();
    await page.waitForFunction(imagesDecoded, '#lightbox-img');
    expect(await page.locator('#lightbox-img').getAttribute('src')).toBe(`/img/assets/${pickedAsset}`);
    await shot(page, '04-picked-full-size');
    await page.keyboard.press('Escape');
    await page.locator('#lightbox').waitFor({ state: 'hidden' });
    expect(await page.locator('.found-card h3').textContent()).toBe('Found it in round 2');
    expect(await page.locator('#thread-status').textContent()).toContain('Found');
    const threadId = threadIdOf(page);
    const item = page.locator(`.thread-item[data-thread="${threadId}"]`);
    expect(await item.getAttribute('data-status')).toBe('found');
    await shot(page, '05-found');

    // Reload: the thread, its rounds and the pick come back from the store.
    await page.reload();
    await page.locator('.found-card').waitFor();
    expect(new URL(page.url()).pathname).toBe(threadPath);
    expect(await page.locator('.round').count()).toBe(2);
    expect(await page.locator('.round[data-round="2"] .tile.picked').getAttribute('data-n')).toBe('3');
    expect(await page.locator(`.thread-item[data-thread="${threadId}"]`).getAttribute('data-status')).toBe(
      'found',
    );
    expect(await page.locator(`.thread-item[data-thread="${threadId}"] .t-title`).textContent()).toBe(
      'a red circle at the top left',
    );
    await waitForRound(page, 2);
    await shot(page, '06-after-reload');

    // Opening / again is a new search, not this finished one.
    await page.goto(base);
    await page.locator('.hero').waitFor();
    expect(await page.locator('.round').count()).toBe(0);
    expect(await page.locator('.thread-item').count()).toBe(1);

    const state = await stored(threadId);
    expect(state?.status).toBe('found');
    expect(state?.found?.assetId).toBe(pickedAsset);
    firstThread = threadId;
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  for (const [name, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    it(`another browser (${name}) neither sees nor lands in my searches; an unknown one is "not found"`, async (ctx) => {
      ctx.skip(SKIP !== null || !firstThread, SKIP ?? 'needs the first test');
      const { page, errors } = await openPage(them, viewport);
      const res = await page.goto(`${base}/t/${firstThread}`);
      expect(res?.status()).toBe(404);
      await page.locator('.not-found').waitFor();
      expect(await page.locator('.not-found h2').textContent()).toBe('Search not found');
      expect(await page.locator('.round').count()).toBe(0);
      expect(await page.locator('.thread-item').count()).toBe(0);
      await shot(page, `09-not-found-${name}`);
      // Its own new search from there; mine stays out of its list.
      await page.locator('.not-found a').click();
      await page.locator('.hero').waitFor();
      expect(new URL(page.url()).pathname).toBe('/');
      expect((await page.goto(`${base}/t/AAAAAAAAAAAA`))?.status()).toBe(404);
      await page.locator('.not-found').waitFor();
      expect(await stored(firstThread)).not.toBeNull();
      expect(errors).toEqual([]);
      await page.close();
    }, 120_000);
  }

  it('phone (390 × 844): the searches in a drawer, tile controls always visible, no keyboard hints', async (ctx) => {
    ctx.skip(SKIP !== null, SKIP ?? '');
    const phone = await browser.newContext({ viewport: PHONE, hasTouch: true, isMobile: true });
    try {
      const { page, errors } = await openPage(phone, PHONE);
      await page.goto(base);
      await page.locator('.hero').waitFor();
      expect(await page.locator('#hint').isVisible()).toBe(false);
      expect(await page.locator('#input').getAttribute('placeholder')).toBe('Describe the image…');
      // The sidebar is a drawer behind the header's menu button: list, New search and Forget me.
      expect(await page.locator('#new-thread').isVisible()).toBe(false);
      await page.locator('#menu').tap();
      await page.locator('#new-thread').waitFor({ state: 'visible' });
      expect(await page.locator('#forget-me').isVisible()).toBe(true);
      await page.locator('#scrim').tap({ position: { x: 370, y: 400 } });
      await page.locator('.example').first().tap();
      const r1 = await waitForRound(page, 1);
      // The tile controls show without a hover; "More like" is a visible button.
      const opacity = await r1
        .locator('.tile[data-n="2"] .tile-actions')
        .evaluate(
          (el) =>
            (globalThis as unknown as { getComputedStyle(e: unknown): { opacity: string } }).getComputedStyle(
              el,
            ).opacity,
        );
      expect(opacity).toBe('1');
      await shot(page, '10-phone-round-1');
      await r1.locator('.tile[data-n="2"] .more-btn').tap();
      const r2 = await waitForRound(page, 2);
      expect(await r2.locator('.round-cause').textContent()).toBe('more like a match');
      // Undo: the history stays in order (1, then 2 marked undone); round 1 is current again.
      await r2.locator('.round-actions [data-act="undo"]').tap();
      await page.locator('.round[data-round="2"].undone').waitFor();
      await page.locator('.round[data-round="1"].current').waitFor();
      expect(
        await page.locator('.round').evaluateAll((cards) => cards.map((c) => c.getAttribute('data-round'))),
      ).toEqual(['1', '2']);
      await page.locator('#menu').tap();
      await page.locator(`.thread-item[data-thread="${threadIdOf(page)}"]`).waitFor({ state: 'visible' });
      await expect.poll(async () => (await page.locator('#sidebar').boundingBox())?.x).toBe(0);
      await shot(page, '11-phone-drawer');
      // New search from the drawer: the blank page, the drawer closed.
      const phoneThread = threadIdOf(page);
      await page.locator('#new-thread').tap();
      await page.locator('.hero').waitFor();
      await page.locator('#new-thread').waitFor({ state: 'hidden' });
      // Rename a search from the drawer: the list shows the name, the store keeps it.
      await page.locator('#menu').tap();
      page.once('dialog', (d) => void d.accept('Fox banner'));
      await page.locator(`.thread-rename[data-thread="${phoneThread}"]`).tap();
      await page
        .locator(`.thread-item[data-thread="${phoneThread}"] .t-title`, { hasText: 'Fox banner' })
        .waitFor();
      expect((await stored(phoneThread))?.title).toBe('Fox banner');
      // Delete a search from the drawer (a visible button, confirmed): gone from the list and the store.
      page.once('dialog', (d) => void d.accept());
      await page.locator(`.thread-delete[data-thread="${phoneThread}"]`).tap();
      await page.locator(`.thread-item[data-thread="${phoneThread}"]`).waitFor({ state: 'detached' });
      expect(await stored(phoneThread)).toBeNull();
      expect(errors).toEqual([]);
    } finally {
      await phone.close();
    }
  }, 180_000);

  for (const [name, viewport] of [
    ['desktop', DESKTOP],
    ['phone', PHONE],
  ] as const) {
    it(`connection lost (${name}): says so while the server is down, and carries on when it is back`, async (ctx) => {
      ctx.skip(SKIP !== null, SKIP ?? '');
      const context = await browser.newContext({ viewport });
      try {
        const { page, errors } = await openPage(context, viewport);
        await page.goto(base);
        await page.locator('.example').first().click();
        await waitForRound(page, 1);
        const port = web.port;
        await web.stop();
        await page.locator('#connection').waitFor({ state: 'visible' });
        expect(await page.locator('#connection').textContent()).toBe('Connection lost — retrying…');
        await shot(page, `12-connection-lost-${name}`);
        web = await startFrontEnd(webFrontEnd, { ...rt, config: { ...rt.config, WEB_PORT: port } });
        await page.locator('#connection').waitFor({ state: 'hidden' });
        await page.locator('#input').fill('it is blue');
        await page.locator('#input').press('Enter');
        await waitForRound(page, 2);
        // The browser's own failed requests while the server was down are no errors of the page.
        expect(errors.filter((e) => !/ERR_CONNECTION_REFUSED|Failed to load resource/.test(e))).toEqual([]);
      } finally {
        await context.close();
      }
    }, 180_000);
  }

  it('starts a second search from the sidebar, picks with a number key, and "Forget me"', async (ctx) => {
    ctx.skip(SKIP !== null, SKIP ?? '');
    const { page, errors } = await openPage(me);
    await page.goto(`${base}/t/${firstThread}`);
    await page.locator('.thread-item').first().waitFor();
    const before = await page.locator('.thread-item').count();
    await page.locator('#new-thread').click();
    await page.locator('.hero').waitFor();
    expect(new URL(page.url()).pathname).toBe('/');
    // No empty search piles up in the list.
    expect(await page.locator('.thread-item').count()).toBe(before);

    // An example description starts the search.
    await page.locator('.example').first().click();
    const r1 = await waitForRound(page, 1);
    await expect.poll(() => page.locator('.thread-item').count()).toBe(before + 1);
    await shot(page, '07-second-search');

    // Keep this search for research: thanked in the thread, and the button goes away.
    await r1.locator('.round-actions .keep').click();
    await page.locator('.notice', { hasText: 'kept for research' }).waitFor();
    await r1.locator('.round-actions .keep').waitFor({ state: 'hidden' });
    const threadId = threadIdOf(page);
    expect((await stored(threadId))?.consent).toBeDefined();

    // Rename it from the sidebar: the list and the header show the name.
    page.once('dialog', (d) => void d.accept('Shapes for the deck'));
    await page.locator(`.thread-rename[data-thread="${threadId}"]`).click();
    await page.locator('#thread-title', { hasText: 'Shapes for the deck' }).waitFor();
    expect(await page.locator(`.thread-item[data-thread="${threadId}"] .t-title`).textContent()).toBe(
      'Shapes for the deck',
    );

    // Esc leaves the text box; "4" picks match 4.
    const fourth = await r1.locator('.tile[data-n="4"]').getAttribute('data-asset-id');
    await page.locator('#input').focus();
    await page.keyboard.press('Escape');
    await page.keyboard.press('4');
    await page.locator('.found-card').waitFor();
    await page.keyboard.press('Escape');
    expect((await stored(threadId))?.found?.assetId).toBe(fourth);

    // "Forget me" (sidebar footer), confirmed: this browser's searches are deleted, the list
    // follows, the page shows a new search and still what it was told.
    page.once('dialog', (d) => void d.accept());
    await page.locator('#forget-me').click();
    await page.locator('.notice', { hasText: 'Deleted 2 searches and' }).waitFor();
    await page.locator(`.thread-item[data-thread="${threadId}"]`).waitFor({ state: 'detached' });
    await expect.poll(() => new URL(page.url()).pathname).toBe('/');
    expect(await stored(threadId)).toBeNull();
    expect(await stored(firstThread)).toBeNull();
    await page.locator('.notice', { hasText: 'Deleted 2 searches and' }).waitFor();
    await page.locator('.hero').waitFor();
    await shot(page, '08-forgot-me');
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);
});
