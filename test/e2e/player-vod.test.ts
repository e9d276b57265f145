import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import type { JobView } from '../../src/core/jobs.js';
import { launchChromium } from '../helpers/browser.js';
import { makeTestClip } from '../helpers/media.js';
import { waitFor } from '../helpers/service-process.js';
import { startTestService } from '../helpers/service.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

describe('the player page in Chromium', () => {
  let t: Started;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestService();
    await makeTestClip(path.join(t.dir, 'media'), {
      seconds: 8,
      width: 640,
      height: 360,
      fps: 30,
      audio: true,
      name: 'p.mp4',
    });
    const res = await fetch(`${t.service.url}/api/vod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'p.mp4', presetId: 'light', id: 'playme' }),
    });
    expect(res.status).toBe(202);
    await waitFor(
      'the file to be transcoded',
      async () =>
        ((await (await fetch(`${t.service.url}/api/jobs/playme`)).json()) as JobView).state === 'completed',
      90_000,
    );
    browser = await launchChromium();
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('lists the file, plays it with hls.js, shows the rendition and a picture', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${t.service.url}/`);
    await page.getByRole('button', { name: /playme/ }).waitFor({ timeout: 10_000 });
    await page.getByRole('button', { name: /playme/ }).click();

    await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 1.5, undefined, {
      timeout: 30_000,
    });
    await page.waitForFunction(() => document.getElementById('rendition')?.textContent !== '–');
    expect(await page.locator('#rendition').textContent()).toMatch(/^\d+x\d+ @ \d+ kb\/s/);

    // A picture, not a black box: sample the decoded frame's pixels.
    const stats = await page.evaluate(() => {
      const v = document.querySelector('video') as HTMLVideoElement;
      const c = document.createElement('canvas');
      c.width = 160;
      c.height = 90;
      const ctx = c.getContext('2d') as CanvasRenderingContext2D;
      ctx.drawImage(v, 0, 0, c.width, c.height);
      const px = ctx.getImageData(0, 0, c.width, c.height).data;
      let sum = 0;
      let sumSq = 0;
      for (let i = 0; i < px.length; i += 4) {
        const y = 0.299 * (px[i] ?? 0) + 0.587 * (px[i + 1] ?? 0) + 0.114 * (px[i + 2] ?? 0);
        sum += y;
        sumSq += y * y;
      }
      const n = px.length / 4;
      return { mean: sum / n, sd: Math.sqrt(sumSq / n - (sum / n) ** 2) };
    });
    expect(stats.mean).toBeGreaterThan(20);
    expect(stats.sd).toBeGreaterThan(20);
    await page.screenshot({ path: path.join(process.cwd(), 'dist', 'player-vod.png') });
    expect(errors).toEqual([]);
  }, 60_000);
});
