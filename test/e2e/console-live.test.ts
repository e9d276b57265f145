import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { packageRoot } from '../../src/core/paths.js';
import { launchChromium } from '../helpers/browser.js';
import { pageErrors, screenshot } from '../helpers/screenshots.js';
import { waitFor } from '../helpers/service-process.js';
import { startTestService } from '../helpers/service.js';
import { WhipTestClient } from '../helpers/whip-client.js';
import { HEAVY_SUITE_SETUP_MS, heavySuiteTurn } from '../helpers/heavy-suite.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

const AXE = path.join(packageRoot(), 'node_modules', 'axe-core', 'axe.min.js');

/** axe-core's WCAG 2.1 A and AA checks on what the page shows now: the rule ids that fail. */
async function accessibilityViolations(page: Page): Promise<string[]> {
  await page.addScriptTag({ path: AXE });
  return page.evaluate(async () => {
    const axe = (
      window as unknown as {
        axe: {
          run: (
            ctx: Document,
            o: object,
          ) => Promise<{ violations: { id: string; nodes: { target: string[] }[] }[] }>;
        };
      }
    ).axe;
    const r = await axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'] });
    return r.violations.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
  });
}

/**
 * A werift publisher sends H.264 over WHIP with key frames every 3 s to a stream whose
 * preset wants 2 s; the console's Go live, Health and Workers panels in Chromium.
 */
describe('console: going live and stream health', () => {
  let t: Started;
  let browser: Browser;
  let context: BrowserContext;
  let publisher: WhipTestClient | undefined;

  let turn: { release(): void } | null = null;

  beforeAll(async () => {
    turn = await heavySuiteTurn();
    t = await startTestService();
    browser = await launchChromium();
    context = await browser.newContext({
      viewport: { width: 1280, height: 900 },
      permissions: ['clipboard-read', 'clipboard-write'],
    });
    publisher = await WhipTestClient.publish({
      url: `${t.service.url}/whip/cam1?preset=light`,
      seconds: 150,
      gop: 90,
    });
    await waitFor(
      'the stream to be live',
      async () => {
        const res = await fetch(`${t.service.url}/api/streams/cam1`);
        return res.status === 200 && ((await res.json()) as { state: string }).state === 'live' ? true : null;
      },
      20_000,
    );
  }, HEAVY_SUITE_SETUP_MS);

  afterAll(async () => {
    await context?.close();
    await browser?.close();
    await publisher?.close();
    await t?.close();
    turn?.release();
  });

  it('Go live: the WHIP URL for a name and preset, copy buttons, the OBS steps and encoder settings', async () => {
    const page = await context.newPage();
    const errors = pageErrors(page);
    await page.goto(`${t.service.url}/#live`);
    const panel = page.getByRole('region', { name: 'Go live' });
    await panel.getByLabel('Stream name').fill('cam1');
    await panel.getByLabel('Preset', { exact: true }).selectOption('light');
    const url = `${t.service.url}/whip/cam1?preset=light`;
    await panel.locator('#live-url').filter({ hasText: url }).waitFor();
    const steps = (await panel.getByRole('listitem').allTextContents()).map((x) =>
      x.replace(/\s+/g, ' ').trim(),
    );
    expect(steps).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/Settings → Stream → Service: WHIP/),
        expect.stringMatching(/^Server: http:\/\/127\.0\.0\.1:\d+\/whip\/cam1\?preset=light/),
        expect.stringMatching(/^Bearer Token: \(empty\)/),
      ]),
    );
    await panel.getByRole('button', { name: 'Copy WHIP URL' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(url);
    await panel.getByLabel('Publish token').fill('my-publish-token-123');
    await panel.getByRole('button', { name: 'Copy bearer token' }).click();
    expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('my-publish-token-123');

    const advice = (await panel.locator('#live-encoder').innerText()).replace(/\s+/g, ' ');
    expect(advice).toMatch(/Rate control CBR/);
    expect(advice).toMatch(/Keyframe interval 2 s/);
    expect(advice).toMatch(/B-frames 0/);
    expect(advice).toMatch(/Output resolution 640x360/);
    expect(await panel.getByRole('link', { name: 'Open the publish page' }).getAttribute('href')).toBe(
      '/publish?stream=cam1&preset=light',
    );

    // A name no stream may have is said so at the field.
    await panel.getByLabel('Stream name').fill('bad name!');
    expect(await panel.getByLabel('Stream name').getAttribute('aria-invalid')).toBe('true');
    expect(await panel.locator('#live-stream-error').textContent()).toMatch(/Letters, digits/);
    await panel.getByLabel('Stream name').fill('cam1');
    await screenshot(page, 'console-go-live');

    // The browser publisher opens with the same stream and preset.
    await panel.getByRole('link', { name: 'Open the publish page' }).click();
    await page.waitForURL(/\/publish\?/);
    expect(await page.locator('#stream').inputValue()).toBe('cam1');
    await page.waitForFunction(
      () => (document.getElementById('preset') as HTMLSelectElement).value === 'light',
    );
    expect(await accessibilityViolations(page)).toEqual([]);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('Health: charts that move, the key frame warning, the live poster, viewers and the latency measured', async () => {
    const page = await context.newPage();
    const errors = pageErrors(page);
    await page.goto(`${t.service.url}/#health`);
    const card = page.locator('article[data-stream="cam1"]');
    const kbps = card.locator('[data-chart="kbps"]');
    await page.waitForFunction(
      () =>
        Number(
          document.querySelector('[data-stream="cam1"] [data-chart="kbps"]')?.getAttribute('data-samples'),
        ) >= 3,
      undefined,
      { timeout: 20_000 },
    );
    await kbps.locator('canvas').first().waitFor();
    const before = Number(await kbps.getAttribute('data-last'));
    const samples = Number(await kbps.getAttribute('data-samples'));
    await page.waitForFunction(
      ([t0, n]) => {
        const c = document.querySelector('[data-stream="cam1"] [data-chart="kbps"]');
        return (
          Number(c?.getAttribute('data-last')) > (t0 ?? 0) &&
          Number(c?.getAttribute('data-samples')) > (n ?? 0)
        );
      },
      [before, samples],
      { timeout: 10_000 },
    );
    expect(Number.parseFloat((await card.locator('[data-now="kbps"]').textContent()) ?? '')).toBeGreaterThan(
      100,
    );
    expect(await card.locator('[data-now="fps"]').textContent()).toMatch(/^\d+ fps$/);
    for (const chart of ['fps', 'loss', 'keyframes', 'speed', 'viewers', 'latency']) {
      expect(
        Number(await card.locator(`[data-chart="${chart}"]`).getAttribute('data-samples')),
      ).toBeGreaterThan(0);
    }

    // 3 s between key frames against the preset's 2 s GOP.
    const warning = card.getByText(/longer than the preset's GOP of 2 s/);
    await warning.waitFor({ timeout: 20_000 });
    // 3 s as sent; a key frame lost on a busy machine makes one interval 6 s.
    const said = (await warning.textContent()) ?? '';
    expect(said).toMatch(/keyframe interval to 2 s/);
    expect(Number(/every (\d+\.\d) s/.exec(said)?.[1])).toBeGreaterThanOrEqual(2.9);
    await card
      .locator('.badge')
      .filter({ hasText: /^(running|degraded)$/ })
      .waitFor({ timeout: 30_000 });

    // The live poster: made from the lowest rung once it has a segment, cacheable 5 s.
    await page.waitForFunction(
      () => {
        const img = document.querySelector<HTMLImageElement>('[data-stream="cam1"] img.poster');
        return !!img && img.complete && img.naturalWidth > 0;
      },
      undefined,
      { timeout: 45_000 },
    );
    const res = await fetch(`${t.service.url}/hls/cam1/poster.jpg`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(res.headers.get('cache-control')).toBe('public, max-age=5');

    // Watch it here: the player's latency and an LL-HLS viewer show up on the charts.
    await card.getByRole('button', { name: 'Watch cam1' }).click();
    await page.waitForFunction(() => location.hash === '#watch');
    await page.locator('#protocol').selectOption('llhls');
    await page.waitForFunction(() => (document.querySelector('video')?.currentTime ?? 0) > 1, undefined, {
      timeout: 45_000,
    });
    await page.evaluate(() => (location.hash = '#health'));
    await page.waitForFunction(
      () =>
        /^\d+\.\d+ s$/.test(
          document.querySelector('[data-stream="cam1"] [data-now="latency"]')?.textContent ?? '',
        ),
      undefined,
      { timeout: 20_000 },
    );
    await page.waitForFunction(
      () =>
        /^[1-9]\d* LL-HLS/.test(
          document.querySelector('[data-stream="cam1"] [data-now="viewers"]')?.textContent ?? '',
        ),
      undefined,
      { timeout: 20_000 },
    );
    await page.waitForTimeout(3000);
    console.log(
      `console health: ${await card.locator('[data-now="kbps"]').textContent()}, speed ${await card.locator('[data-now="speed"]').textContent()}, latency ${await card.locator('[data-now="latency"]').textContent()}`,
    );
    await screenshot(page, 'console-health');
    expect(await accessibilityViolations(page)).toEqual([]);

    const phone = await browser.newPage({
      viewport: { width: 390, height: 844 },
      isMobile: true,
      hasTouch: true,
    });
    await phone.goto(`${t.service.url}/#health`);
    await phone.waitForFunction(
      () =>
        Number(
          document.querySelector('[data-stream="cam1"] [data-chart="kbps"]')?.getAttribute('data-samples'),
        ) >= 3,
      undefined,
      { timeout: 20_000 },
    );
    await phone.waitForTimeout(1500);
    expect(await phone.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(390);
    await screenshot(phone, 'console-health-phone');
    await phone.close();
    expect(errors).toEqual([]);
    await page.close();
  }, 150_000);

  it('Workers: the worker and its live job, polled only while shown, and never in a storm', async () => {
    const page = await context.newPage();
    const errors = pageErrors(page);
    const asked: string[] = [];
    page.on('request', (r) => {
      const p = new URL(r.url()).pathname;
      if (p.startsWith('/api/')) asked.push(p);
    });
    await page.goto(`${t.service.url}/#workers`);
    const panel = page.getByRole('region', { name: /Workers/ });
    const worker = panel.locator('tr[data-worker]');
    await worker.first().waitFor();
    expect(await worker.first().textContent()).toMatch(/x264/);
    const job = panel.locator('tr[data-job="cam1"]');
    await job.waitFor();
    expect(await job.textContent()).toMatch(/live.*active/);
    await screenshot(page, 'console-workers');

    // Another panel: the worker list is no longer polled; the rest at most every 2 s.
    await page.evaluate(() => (location.hash = '#watch'));
    await page.waitForTimeout(500);
    asked.length = 0;
    await page.waitForTimeout(6000);
    const count = (p: string): number => asked.filter((a) => a === p).length;
    expect(count('/api/workers')).toBe(0);
    expect(count('/api/jobs')).toBeLessThanOrEqual(4);
    expect(count('/api/streams')).toBeLessThanOrEqual(4);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);

  it('every panel passes axe-core (WCAG 2.1 AA), and the keyboard reaches each one', async () => {
    const page = await context.newPage();
    await page.goto(`${t.service.url}/`);
    await page.locator('#streams button').first().waitFor();
    for (const [name, heading] of [
      ['watch', 'Watch'],
      ['live', 'Go live'],
      ['health', 'Stream health'],
      ['files', 'Files'],
      ['presets', 'Presets'],
      ['workers', 'Workers'],
    ] as const) {
      // Tab to the panel's link in the navigation and follow it: focus lands on its heading.
      await page
        .getByRole('link', { name: heading === 'Stream health' ? 'Health' : heading, exact: true })
        .focus();
      await page.keyboard.press('Enter');
      await page.waitForFunction((n) => location.hash === `#${n}`, name);
      if (name !== 'watch') {
        await page.waitForFunction(
          (h) => document.activeElement?.textContent?.startsWith(h) ?? false,
          heading,
        );
      }
      if (name === 'presets') await page.getByRole('button', { name: 'View default' }).click();
      await page.waitForTimeout(name === 'health' ? 2000 : 500);
      expect({ name, violations: await accessibilityViolations(page) }).toEqual({ name, violations: [] });
    }
    await page.close();
  }, 90_000);
});
