import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import type { JobView } from '../../src/core/jobs.js';
import { launchChromium } from '../helpers/browser.js';
import { makeTestClip } from '../helpers/media.js';
import { pageErrors, screenshot } from '../helpers/screenshots.js';
import { startTestService } from '../helpers/service.js';
import { HEAVY_SUITE_SETUP_MS, heavySuiteTurn } from '../helpers/heavy-suite.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

/** Every text a list item showed while the test ran: states and progress pass by quickly. */
async function recordTexts(page: Page, selector: string): Promise<void> {
  await page.evaluate((sel) => {
    const seen: string[] = [];
    (window as unknown as { seen: string[] }).seen = seen;
    const note = (): void => {
      document.querySelectorAll(sel).forEach((n) => {
        const t = (n.textContent ?? '').replace(/\s+/g, ' ').trim();
        if (t && seen[seen.length - 1] !== t) seen.push(t);
      });
    };
    new MutationObserver(note).observe(document.body, {
      subtree: true,
      childList: true,
      characterData: true,
    });
  }, selector);
}

/** The Files panel: its labels are looked up inside it (other panels have a Preset field too). */
const filesPanel = (page: Page) => page.getByRole('region', { name: 'Files' });

const seen = (page: Page): Promise<string[]> =>
  page.evaluate(() => (window as unknown as { seen: string[] }).seen);

/** The console's Files panel in Chromium: upload, progress, play with previews, failures, cancel. */
describe('console: files', () => {
  let t: Started;
  let browser: Browser;
  let clip: string;
  let longClip: string;

  let turn: { release(): void } | null = null;

  beforeAll(async () => {
    turn = await heavySuiteTurn();
    t = await startTestService();
    // 720p through the three-rung default ladder: a transcode of several seconds, long
    // enough for the page's 2 s poll to see it running.
    clip = await makeTestClip(path.join(t.dir, 'upload'), {
      seconds: 12,
      width: 1280,
      height: 720,
      fps: 30,
      audio: true,
      name: 'holiday.mp4',
    });
    longClip = await makeTestClip(path.join(t.dir, 'upload'), {
      seconds: 15,
      width: 640,
      height: 360,
      fps: 30,
      audio: true,
      name: 'long.mp4',
    });
    browser = await launchChromium();
  }, HEAVY_SUITE_SETUP_MS);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
    turn?.release();
  });

  it('uploads a picked file with a progress bar, shows the transcode progress, then plays it with previews', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = pageErrors(page);
    await page.goto(`${t.service.url}/#files`);
    await page.getByRole('heading', { name: 'Files' }).waitFor();
    await recordTexts(page, '#uploads li, #file-jobs li[data-job="upme"]');
    await filesPanel(page).getByLabel('Preset', { exact: true }).selectOption('default');
    await filesPanel(page).getByLabel('Id (optional)').fill('upme');
    await page.locator('#upload-file').setInputFiles(clip);

    // The upload's own bar, then the job's: percent, fps, speed, time left, until it plays.
    await page.getByText('Uploaded holiday.mp4: job upme queued').waitFor({ timeout: 20_000 });
    const job = page.locator('#file-jobs li[data-job="upme"]');
    await job.getByRole('button', { name: 'Play upme' }).waitFor({ timeout: 90_000 });
    const texts = await seen(page);
    expect(texts.some((s) => /^Uploading holiday\.mp4: \d+% \(.+ of .+\)/.test(s))).toBe(true);
    const progress = texts.filter((s) => /transcoding.*\d+%/.test(s));
    console.log(`transcode progress as the page showed it:\n${progress.join('\n')}`);
    expect(progress.length).toBeGreaterThan(0);
    expect(await job.textContent()).toMatch(/ready to play/);

    // Its poster is in the list.
    const poster = job.locator('img.thumb');
    await page.waitForFunction(
      (img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0,
      await poster.elementHandle(),
    );
    expect(await poster.getAttribute('src')).toBe('/hls/upme/poster.jpg');
    await screenshot(page, 'console-files');

    // Play: the Watch panel plays it, the poster is the video's, the seek bar shows sprite tiles.
    await job.getByRole('button', { name: 'Play upme' }).click();
    await page.waitForFunction(() => location.hash === '#watch');
    await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 1, undefined, {
      timeout: 30_000,
    });
    expect(await page.locator('video').getAttribute('poster')).toBe('/hls/upme/poster.jpg');
    const seek = page.getByLabel('Seek with previews');
    await seek.waitFor();
    const box = (await seek.boundingBox())!;
    await page.mouse.move(box.x + box.width * 0.6, box.y + box.height / 2);
    const preview = page.locator('#seek-preview');
    await preview.waitFor();
    const style = await preview.evaluate((el) => ({
      image: (el as HTMLElement).style.backgroundImage,
      position: (el as HTMLElement).style.backgroundPosition,
      width: (el as HTMLElement).style.width,
    }));
    expect(style.image).toMatch(/\/hls\/upme\/sprite\.jpg/);
    expect(style.width).toBe('160px');
    // 60% of 12 s is the fourth 2 s tile: x = 3 * 160.
    expect(style.position).toBe('-480px 0px');
    const sprite = await page.evaluate(async () => {
      const img = new Image();
      img.src = '/hls/upme/sprite.jpg';
      await img.decode();
      return { w: img.naturalWidth, h: img.naturalHeight };
    });
    // Six 2 s tiles of the lowest rung (360p), in one row.
    expect(sprite).toEqual({ w: 960, h: 90 });
    await screenshot(page, 'console-watch-file-previews');
    expect(errors).toEqual([]);
    await page.close();
  }, 150_000);

  it('takes a dropped file, and a file that is no video fails with its reason shown', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = pageErrors(page);
    await page.goto(`${t.service.url}/#files`);
    await filesPanel(page).getByLabel('Id (optional)').fill('broken');
    await page.evaluate(() => {
      const dt = new DataTransfer();
      dt.items.add(new File([new Uint8Array(64 * 1024).fill(7)], 'broken.mp4', { type: 'video/mp4' }));
      const drop = document.getElementById('drop')!;
      drop.dispatchEvent(new DragEvent('dragenter', { dataTransfer: dt, bubbles: true, cancelable: true }));
      drop.dispatchEvent(new DragEvent('drop', { dataTransfer: dt, bubbles: true, cancelable: true }));
    });
    await page.getByText('Uploaded broken.mp4: job broken queued').waitFor({ timeout: 20_000 });
    const job = page.locator('#file-jobs li[data-job="broken"]');
    await job.locator('.error').waitFor({ timeout: 60_000 });
    expect(await job.textContent()).toMatch(/failed/);
    expect(await job.locator('.error').textContent()).toMatch(/not readable media/);
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('cancels a transcode from its Cancel button', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = pageErrors(page);
    await page.goto(`${t.service.url}/#files`);
    await filesPanel(page).getByLabel('Preset', { exact: true }).selectOption('default');
    await filesPanel(page).getByLabel('Id (optional)').fill('cancelme');
    await page.locator('#upload-file').setInputFiles(longClip);
    const cancel = page.getByRole('button', { name: 'Cancel cancelme' });
    await cancel.waitFor({ timeout: 20_000 });
    await cancel.click();
    const job = page.locator('#file-jobs li[data-job="cancelme"]');
    await page.waitForFunction(
      () =>
        document.querySelector('#file-jobs li[data-job="cancelme"]')?.getAttribute('data-state') ===
        'cancelled',
      undefined,
      { timeout: 30_000 },
    );
    expect(await job.textContent()).toMatch(/cancelled/);
    const view = (await (await fetch(`${t.service.url}/api/jobs/cancelme`)).json()) as JobView;
    expect(view.state).toBe('cancelled');
    await screenshot(page, 'console-files-failed-and-cancelled');
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('fits a phone: one column, nothing wider than the screen', async () => {
    const page = await browser.newPage({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    await page.goto(`${t.service.url}/#files`);
    await page.locator('#file-jobs li[data-job="upme"]').waitFor();
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(page, 'console-files-phone');
    await page.close();
  }, 30_000);
});
