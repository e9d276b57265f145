import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser, Page } from 'playwright-core';
import type { Preset } from '../../src/core/preset.js';
import { launchChromium } from '../helpers/browser.js';
import { pageErrors, screenshot } from '../helpers/screenshots.js';
import { startTestService } from '../helpers/service.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

const API_TOKEN = 'console-Test-token-4f2a9c';

const panel = (page: Page) => page.getByRole('region', { name: 'Presets' });

/**
 * The Presets panel in Chromium: a preset made through the form (a copy of a built-in),
 * the API's validation errors shown at the field they name, edit, delete; with
 * API_TOKEN set, the page asks for it.
 */
describe('console: presets', () => {
  let t: Started;
  let browser: Browser;

  beforeAll(async () => {
    t = await startTestService({ API_TOKEN });
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    await t?.close();
  });

  const stored = async (id: string): Promise<{ status: number; preset?: Preset }> => {
    const res = await fetch(`${t.service.url}/api/presets/${id}`);
    return res.status === 200
      ? { status: 200, preset: ((await res.json()) as { preset: Preset }).preset }
      : { status: res.status };
  };

  it('creates a preset from a copy of a built-in, showing each validation error at its field', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = pageErrors(page);
    await page.goto(`${t.service.url}/#presets`);
    const p = panel(page);
    await p.getByRole('button', { name: 'Copy light' }).click();
    await p.getByRole('heading', { name: 'New preset, a copy of light' }).waitFor();
    expect(await p.getByLabel('Id *').inputValue()).toBe('light-copy');
    await p.getByLabel('Id *').fill('my-light');
    await p.getByLabel('Name *').fill('My light ladder');

    // No token yet: the API answers 401 and the page asks for the token.
    await p.getByRole('button', { name: 'Save' }).click();
    await page.getByText('This server needs its API token for changes').waitFor();
    expect(await page.evaluate(() => document.activeElement?.id)).toBe('api-token');
    await page.locator('#api-token').fill(API_TOKEN);
    await page.locator('#api-token').press('Tab');

    // An odd width: the API names ladder.0.width, and the form says so there.
    const width = p.locator('[data-path="ladder.0.width"]');
    await width.fill('641');
    await p.getByRole('button', { name: 'Save' }).click();
    await p
      .locator('#pf-ladder-0-width-error')
      .filter({ hasText: /^must be even$/ })
      .waitFor();
    expect(await width.getAttribute('aria-invalid')).toBe('true');
    expect(await page.evaluate(() => document.activeElement?.getAttribute('data-path'))).toBe(
      'ladder.0.width',
    );
    expect(await p.getByRole('alert').textContent()).toMatch(/Not saved: ladder\.0\.width: must be even/);
    // The input names its error for screen readers.
    expect(await width.getAttribute('aria-describedby')).toContain('pf-ladder-0-width-error');
    expect((await stored('my-light')).status).toBe(404);
    await screenshot(page, 'console-presets-validation-error');

    // A rule across fields: segments a whole number of GOPs.
    await width.fill('640');
    await p.getByLabel('Segment duration (s)').fill('3');
    await p.getByRole('button', { name: 'Save' }).click();
    await p
      .locator('#pf-segmentSeconds-error')
      .filter({ hasText: /whole multiple of gopSeconds/ })
      .waitFor();
    expect(await width.getAttribute('aria-invalid')).toBeNull();

    await p.getByLabel('Segment duration (s)').fill('4');
    // A boolean field is a choice of two, sent as true or false (not as the text "true").
    const passthrough = p.locator('[data-path="passthrough"]');
    expect(await passthrough.inputValue()).toBe('');
    await passthrough.selectOption('true');
    await p.getByRole('button', { name: 'Save' }).click();
    await p.getByText('Saved preset my-light.').waitFor();
    await p.locator('tr[data-preset="my-light"]').waitFor();
    const saved = await stored('my-light');
    expect(saved.preset).toMatchObject({
      id: 'my-light',
      name: 'My light ladder',
      gopSeconds: 2,
      segmentSeconds: 4,
      passthrough: true,
      ladder: [
        { width: 640, height: 360 },
        { width: 426, height: 240 },
      ],
    });
    await screenshot(page, 'console-presets-saved');
    expect(errors).toEqual([]);
    await page.close();
  }, 90_000);

  it('edits a user preset (adding a rung), then deletes it; built-ins offer neither', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors = pageErrors(page);
    await page.goto(`${t.service.url}/#presets`);
    await page.evaluate((token) => sessionStorage.setItem('whipcast.apiToken', token), API_TOKEN);
    await page.reload();
    const p = panel(page);
    await p.locator('tr[data-preset="my-light"]').waitFor();
    expect(await p.getByRole('button', { name: 'Edit light' }).count()).toBe(0);
    expect(await p.getByRole('button', { name: 'Delete default' }).count()).toBe(0);

    await p.getByRole('button', { name: 'Edit my-light' }).click();
    await p.getByRole('heading', { name: 'Edit my-light' }).waitFor();
    expect(await p.getByLabel('Id *').getAttribute('readonly')).not.toBeNull();
    await p.getByRole('button', { name: 'Add to ladder' }).click();
    await p.locator('[data-path="ladder.2.width"]').fill('256');
    await p.locator('[data-path="ladder.2.height"]').fill('144');
    await p.locator('[data-path="ladder.2.videoBitrateKbps"]').fill('200');
    await p.getByRole('button', { name: 'Save' }).click();
    await p.getByText('Saved preset my-light.').waitFor();
    expect((await stored('my-light')).preset?.ladder.map((r) => r.height)).toEqual([360, 240, 144]);

    page.once('dialog', (d) => void d.accept());
    await p.getByRole('button', { name: 'Delete my-light' }).click();
    await p.getByText('Deleted preset my-light.').waitFor();
    await p.locator('tr[data-preset="my-light"]').waitFor({ state: 'detached' });
    expect((await stored('my-light')).status).toBe(404);
    expect(errors).toEqual([]);
    await page.close();
  }, 60_000);
});
