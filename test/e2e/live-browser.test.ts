import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { waitFor } from '../helpers/service-process.js';
import { startTestService } from '../helpers/service.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

/** A browser publishes its (fake) camera from /publish; another page plays it live from /. */
describe('live in Chromium: /publish over WHIP, / over LL-HLS', () => {
  let t: Started;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestService();
    browser = await launchChromium(['--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream']);
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  it('publishes the camera, the stream goes live, and the player plays it with a latency shown', async () => {
    const publisher = await browser.newPage();
    const errors: string[] = [];
    publisher.on('pageerror', (e) => errors.push(`publish: ${e.message}`));
    await publisher.goto(`${t.service.url}/publish`);
    await publisher.locator('#stream').fill('cam');
    await publisher.locator('#preset').selectOption('light');
    await publisher.getByRole('button', { name: 'Start' }).click();
    await publisher.waitForFunction(
      () => document.getElementById('state')?.textContent === 'connected',
      undefined,
      {
        timeout: 20_000,
      },
    );

    const stream = await waitFor(
      'the stream to be listed live with its ingest stats',
      async () => {
        const res = await fetch(`${t.service.url}/api/streams/cam`);
        if (res.status !== 200) return null;
        const s = (await res.json()) as { state: string };
        return s.state === 'live' ? s : null;
      },
      20_000,
    );
    expect(stream).toMatchObject({ id: 'cam', state: 'live' });

    const viewer = await browser.newPage({ viewport: { width: 1280, height: 720 } });
    viewer.on('pageerror', (e) => errors.push(`player: ${e.message}`));
    await viewer.goto(`${t.service.url}/?stream=cam`);
    await viewer.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 3, undefined, {
      timeout: 45_000,
    });
    await viewer.waitForFunction(
      () => /s$/.test(document.getElementById('latency')?.textContent ?? ''),
      undefined,
      {
        timeout: 15_000,
      },
    );
    const latency = Number.parseFloat((await viewer.locator('#latency').textContent()) ?? 'NaN');
    console.log(`hls.js latency in Chromium: ${latency.toFixed(2)} s`);
    expect(latency).toBeGreaterThan(0);
    await viewer.screenshot({ path: path.join(process.cwd(), 'dist', 'player-live.png') });

    await publisher.getByRole('button', { name: 'Stop' }).click();
    await waitFor(
      'the stream to end',
      async () =>
        ((await (await fetch(`${t.service.url}/api/streams/cam`)).json()) as { state: string }).state ===
          'ended' || null,
      20_000,
    );
    expect(errors).toEqual([]);
  }, 120_000);
});
