import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { DataChannelPublisher, stopDataChannels } from '../helpers/datachannel-publisher.js';
import { waitFor } from '../helpers/service-process.js';
import { startTestService } from '../helpers/service.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

const root = path.resolve(new URL('../../..', import.meta.url).pathname);

/**
 * A copied layer that lost a stretch (packets never repaired, ingest waiting for the next
 * key frame) is listed with GAP=YES parts; hls.js from npm, in Chromium, plays across the
 * hole on the top rendition without an error event and never loads a GAP part.
 */
describe('hls.js plays across GAP parts', () => {
  let t: Started;
  let browser: Browser;
  let server: http.Server;
  let pub: DataChannelPublisher | null = null;

  beforeAll(async () => {
    t = await startTestService();
    browser = await launchChromium();
  }, 60_000);

  afterAll(async () => {
    await pub?.close();
    stopDataChannels();
    await browser?.close();
    server?.closeAllConnections();
    await new Promise((r) => (server ? server.close(() => r(undefined)) : r(undefined)));
    await t?.close();
  });

  it('hls.js', async () => {
    const base = t.service.url;
    pub = await DataChannelPublisher.publish({
      url: `${base}/whip/gappy?preset=passthrough`,
      codec: 'h264',
      simulcast: [
        { rid: 'h', width: 640, height: 360 },
        { rid: 'l', width: 320, height: 180 },
      ],
      lose: { rid: 'h', after: 400, packets: 3 },
      seconds: 12,
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
    const requested: string[] = [];
    p.on('request', (r) => requested.push(r.url()));
    try {
      await p.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      const gaps = await waitFor(
        'GAP parts in 360p',
        async () => {
          const text = await (await fetch(src)).text();
          const uris = [...text.matchAll(/#EXT-X-PART:[^\n]*URI="([^"]+)"[^\n]*GAP=YES/g)].map((m) => m[1]!);
          return uris.length > 0 ? uris : null;
        },
        20_000,
        100,
      );
      // Past the hole (about 4 s in) and two seconds more.
      const before = await p.evaluate(() => document.querySelector('video')!.currentTime);
      await p.waitForFunction((s) => document.querySelector('video')!.currentTime > s, before + 3, {
        timeout: 20_000,
      });
      const errors = await p.evaluate(() => (window as unknown as { errors: string[] }).errors);
      console.log('GAP parts', gaps, 'hls.js errors', errors);
      expect(errors.filter((e) => e.includes('fatal'))).toEqual([]);
      expect(requested.filter((u) => gaps.some((g) => u.includes(g)))).toEqual([]);
    } finally {
      await p.close();
    }
  }, 90_000);
});
