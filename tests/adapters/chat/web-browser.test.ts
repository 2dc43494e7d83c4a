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
import { type Browser, chromium, type Page } from 'playwright-core';
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
    await mkdir(SHOTS, { recursive: true });
  }, 180_000);

  afterAll(async () => {
    await browser?.close();
    await web?.stop();
    await rt?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** A page that may only talk to our server; every page error is collected. */
  async function openPage(): Promise<{ page: Page; errors: string[] }> {
    const page = await browser.newPage({ viewport: { width: 1440, height: 1000 } });
    // CI runs the whole suite on 2 cores: be patient, the assertions do not depend on time.
    page.setDefaultTimeout(90_000);
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    page.on('console', (msg) => {
      if (msg.type() === 'error') errors.push(msg.text());
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

  it('runs a search: describe, see round 1, correct, see round 2, pick, reload', async (ctx) => {
    ctx.skip(SKIP !== null, SKIP ?? '');
    const { page, errors } = await openPage();
    await page.goto(base);
    await page.locator('.hero').waitFor();
    await expect.poll(() => new URL(page.url()).pathname).toMatch(/^\/t\/[A-Za-z0-9_-]+$/);
    const threadPath = new URL(page.url()).pathname;
    await shot(page, '01-empty-thread');

    // Round 1 from a description.
    await page.locator('#input').fill('a red circle at the top left');
    await page.locator('#input').press('Enter');
    const r1 = await waitForRound(page, 1);
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
    const threadId = threadPath.split('/').pop() as string;
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

    const state = await rt.engine.thread(`web:${threadId}`);
    expect(state?.status).toBe('found');
    expect(state?.found?.assetId).toBe(pickedAsset);
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);

  it('starts a second search from the sidebar and picks with a number key', async (ctx) => {
    ctx.skip(SKIP !== null, SKIP ?? '');
    const { page, errors } = await openPage();
    await page.goto(base);
    await page.locator('.thread-item').first().waitFor();
    const before = await page.locator('.thread-item').count();
    await page.locator('#new-thread').click();
    await page.locator('.hero').waitFor();
    await expect.poll(() => page.locator('.thread-item').count()).toBe(before + 1);

    // An example description starts the search.
    await page.locator('.example').first().click();
    const r1 = await waitForRound(page, 1);
    await shot(page, '07-second-search');

    // Keep this search for research: thanked in the thread, and the button goes away.
    await r1.locator('.round-actions .keep').click();
    await page.locator('.notice', { hasText: 'kept for research' }).waitFor();
    await r1.locator('.round-actions .keep').waitFor({ state: 'hidden' });
    const secondId = new URL(page.url()).pathname.split('/').pop() as string;
    expect((await rt.engine.thread(`web:${secondId}`))?.consent).toBeDefined();

    // Esc leaves the text box; "4" picks match 4.
    const fourth = await r1.locator('.tile[data-n="4"]').getAttribute('data-asset-id');
    await page.locator('#input').focus();
    await page.keyboard.press('Escape');
    await page.keyboard.press('4');
    await page.locator('.found-card').waitFor();
    await page.keyboard.press('Escape');
    const threadId = new URL(page.url()).pathname.split('/').pop() as string;
    expect((await rt.engine.thread(`web:${threadId}`))?.found?.assetId).toBe(fourth);

    // "Forget me" (sidebar footer), confirmed: this browser's search is deleted, the list follows,
    // the page moves to a thread that is left and still shows what it was told.
    page.once('dialog', (d) => void d.accept());
    await page.locator('#forget-me').click();
    await page.locator('.notice', { hasText: 'Deleted 1 search and' }).waitFor();
    await page.locator(`.thread-item[data-thread="${threadId}"]`).waitFor({ state: 'detached' });
    await expect.poll(() => new URL(page.url()).pathname).not.toBe(`/t/${threadId}`);
    expect(await rt.engine.thread(`web:${threadId}`)).toBeNull();
    await page.locator('.notice', { hasText: 'Deleted 1 search and' }).waitFor();
    await page.waitForFunction(imagesDecoded, '.round img');
    await shot(page, '08-forgot-me');
    expect(errors).toEqual([]);
    await page.close();
  }, 180_000);
});
