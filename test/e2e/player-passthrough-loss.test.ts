import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { DataChannelPublisher, OBS_TWO_LAYERS, stopDataChannels } from '../helpers/datachannel-publisher.js';
import { waitFor } from '../helpers/service-process.js';
import { startTestService } from '../helpers/service.js';
import { HEAVY_SUITE_SETUP_MS, heavySuiteTurn } from '../helpers/heavy-suite.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

const root = path.resolve(new URL('../../..', import.meta.url).pathname);

/**
 * A copied layer that lost a stretch (packets never repaired) ends the passthrough run;
 * the next one starts behind EXT-X-DISCONTINUITY. hls.js from npm, in Chromium, playing
 * the top rendition at the live edge, goes on across it without a fatal error.
 */
describe('hls.js plays on when a copied layer loses a stretch', () => {
  let t: Started;
  let browser: Browser;
  let server: http.Server;
  let pub: DataChannelPublisher | null = null;

  let turn: { release(): void } | null = null;

  beforeAll(async () => {
    turn = await heavySuiteTurn();
    t = await startTestService();
    browser = await launchChromium();
  }, HEAVY_SUITE_SETUP_MS);

  afterAll(async () => {
    await pub?.close();
    stopDataChannels();
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((r) => (server ? server.close(() => r(undefined)) : r(undefined)));
    await t?.close();
    turn?.release();
  });

  it('hls.js', async () => {
    const base = t.service.url;
    pub = await DataChannelPublisher.publish({
      url: `${base}/whip/gappy?preset=passthrough`,
      codec: 'h264',
      simulcast: OBS_TWO_LAYERS,
      seconds: 20,
    });
    await waitFor(
      'index.m3u8',
      async () => ((await fetch(`${base}/hls/gappy/index.m3u8`)).status === 200 ? true : null),
      20_000,
      50,
    );
    const src = `${base}/hls/gappy/360p.m3u8`;
    server = http.createServer((req, res) => {
      if (req.url === '/hls.js') {
        res.writeHead(200, { 'Content-Type': 'text/javascript' });
        return void res.end(readFileSync(path.join(root, 'node_modules/hls.js/dist/hls.js')));
      }
      res.writeHead(200, { 'Content-Type': 'text/html' });
      res.end(`<!doctype html><video id="v" muted autoplay playsinline></video><script src="/hls.js"></script>
<script>
  window.errors = [];
  const video = document.getElementById('v');
  const hls = new Hls();
  hls.on(Hls.Events.ERROR, (_e, d) => window.errors.push(d.type + ':' + d.details + (d.fatal ? ' (fatal)' : '')));
  hls.loadSource(${JSON.stringify(src)});
  hls.attachMedia(video);
</script>`);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const p = await browser.newPage();
    try {
      await p.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      // The layers are being copied (index.m3u8 waits for a segment) and the player is on its way.
      await p.waitForFunction(() => document.querySelector('video')!.currentTime > 0, null, {
        timeout: 20_000,
      });
      pub.loseNext('h', 20);
      await waitFor(
        'a discontinuity in 360p',
        async () => (/#EXT-X-DISCONTINUITY\n/.test(await (await fetch(src)).text()) ? true : null),
        25_000,
        100,
      );
      // On across the discontinuity, three seconds more.
      const before = await p.evaluate(() => document.querySelector('video')!.currentTime);
      await p.waitForFunction((s) => document.querySelector('video')!.currentTime > s, before + 3, {
        timeout: 20_000,
      });
      const errors = await p.evaluate(() => (window as unknown as { errors: string[] }).errors);
      console.log(`hls.js from ${before.toFixed(2)} s across the discontinuity; errors`, errors);
      expect(errors.filter((e) => e.includes('fatal'))).toEqual([]);
    } finally {
      await p.close();
    }
  }, 90_000);
});
