import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { waitFor } from '../helpers/service-process.js';
import { startTestService } from '../helpers/service.js';
import { WhipTestClient } from '../helpers/whip-client.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

/** Mean and spread of the luma of the frame the <video> shows: a picture, not a black box. */
function pictureStats(page: Page): Promise<{ mean: number; sd: number }> {
  return page.evaluate(() => {
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
}

/** Waits for the video's currentTime to move on by `by` seconds from where it is now. */
async function advances(page: Page, by: number, timeout: number): Promise<void> {
  const from = await page.evaluate(() => document.querySelector('video')?.currentTime ?? 0);
  await page.waitForFunction(
    ([t0, d]) => (document.querySelector('video')?.currentTime ?? 0) > (t0 ?? 0) + (d ?? 0),
    [from, by],
    { timeout },
  );
}

/** A werift publisher sends H.264 over WHIP; Chromium plays it in the player over WHEP, then over LL-HLS. */
describe('the player page plays a live stream over WebRTC (WHEP)', () => {
  let t: Started;
  let browser: Browser;
  let publisher: WhipTestClient | undefined;

  beforeAll(async () => {
    t = await startTestService();
    browser = await launchChromium();
    publisher = await WhipTestClient.publish({
      url: `${t.service.url}/whip/w1?preset=light`,
      seconds: 120,
    });
    await waitFor(
      'the stream to be live',
      async () => {
        const res = await fetch(`${t.service.url}/api/streams/w1`);
        return res.status === 200 && ((await res.json()) as { state: string }).state === 'live' ? true : null;
      },
      20_000,
    );
  }, 90_000);

  afterAll(async () => {
    await browser?.close();
    await publisher?.close();
    await t?.close();
  });

  const viewers = async (): Promise<number | undefined> => {
    const res = await fetch(`${t.service.url}/api/streams/w1`);
    if (res.status !== 200) return undefined;
    return ((await res.json()) as { viewers?: { whep: number } }).viewers?.whep;
  };

  it('plays via WebRTC with a picture, counts the viewer, then switches to LL-HLS', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${t.service.url}/?stream=w1&protocol=webrtc`);

    // WebRTC plays: the picture's clock moves, the page says so, the server counts one WHEP viewer.
    await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 0, undefined, {
      timeout: 30_000,
    });
    await advances(page, 1, 20_000);
    expect(await page.locator('#status').textContent()).not.toMatch(/unavailable/);
    expect(await page.locator('#protocol').inputValue()).toBe('webrtc');
    expect(await page.locator('#now-playing').textContent()).toMatch(/w1 via WebRTC/);
    expect(await page.evaluate(() => document.querySelector('video')?.srcObject instanceof MediaStream)).toBe(
      true,
    );
    // The page starts in rung mode and names the rung the server sends it.
    await page.waitForFunction(() =>
      /^WebRTC \(rung \w+\) \d+x\d+/.test(document.getElementById('rendition')?.textContent ?? ''),
    );
    // Which rung follows Chromium's estimate (REMB), which starts low and ramps: 360p (640x360)
    // or 240p (426x240) of the default ladder.
    expect(await page.locator('#rendition').textContent()).toMatch(
      /^WebRTC \(rung (360p|240p)\) (640x360|426x240)/,
    );
    await page.waitForFunction(() => /WebRTC/.test(document.getElementById('latency')?.textContent ?? ''));
    console.log(
      `player over WHEP: ${await page.locator('#rendition').textContent()}; latency ${await page.locator('#latency').textContent()}`,
    );
    expect(await viewers()).toBe(1);
    // Chromium's receive-side estimate (REMB) reaches the server, which follows it.
    const estimate = await waitFor(
      'a bandwidth estimate from Chromium',
      async () => {
        const res = await fetch(`${t.service.url}/api/streams/w1`);
        const v = (await res.json()) as { viewers?: { whepViewers?: { estimateBps?: number }[] } };
        return v.viewers?.whepViewers?.[0]?.estimateBps ?? null;
      },
      15_000,
      250,
    );
    console.log(`Chromium's estimate (REMB): ${estimate} b/s`);

    const picture = await pictureStats(page);
    expect(picture.mean).toBeGreaterThan(20);
    expect(picture.sd).toBeGreaterThan(20);
    await page.screenshot({ path: path.join(process.cwd(), 'dist', 'player-whep.png') });

    // Switch to LL-HLS: hls.js plays, the WHEP session is deleted.
    await page.locator('#protocol').selectOption('llhls');
    await waitFor('the WHEP viewer to leave', async () => ((await viewers()) === 0 ? true : null), 10_000);
    await page.waitForFunction(() => (window as unknown as { hls?: unknown }).hls !== undefined);
    expect(await page.locator('#now-playing').textContent()).toMatch(/w1 via LL-HLS/);
    expect(await page.evaluate(() => document.querySelector('video')?.srcObject ?? null)).toBeNull();
    await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 1, undefined, {
      timeout: 45_000,
    });
    await advances(page, 1, 20_000);
    expect(await page.evaluate(() => document.querySelector('video')?.currentSrc ?? '')).toMatch(/^blob:/);
    expect(await viewers()).toBe(0);

    await page.close();
    expect(errors).toEqual([]);
  }, 150_000);

  it('falls back to LL-HLS and says so when WHEP fails', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    // A WHEP endpoint that is full: the player must not wait on it.
    await page.route('**/whep/**', (route) =>
      route.fulfill({
        status: 503,
        headers: { 'retry-after': '5' },
        contentType: 'text/plain',
        body: 'full',
      }),
    );
    await page.goto(`${t.service.url}/?stream=w1&protocol=webrtc`);
    await page.waitForFunction(() =>
      /WebRTC unavailable/.test(document.getElementById('status')?.textContent ?? ''),
    );
    expect(await page.locator('#status').textContent()).toMatch(/503.*LL-HLS/);
    expect(await page.locator('#protocol').inputValue()).toBe('llhls');
    await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 1, undefined, {
      timeout: 45_000,
    });
    expect(await page.locator('#now-playing').textContent()).toMatch(/w1 via LL-HLS/);
    // The notice outlives the page's periodic refresh of the lists.
    await page.waitForTimeout(2500);
    expect(await page.locator('#status').textContent()).toMatch(/WebRTC unavailable/);
    await page.close();
    expect(errors).toEqual([]);
  }, 90_000);
});
