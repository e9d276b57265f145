import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Browser } from 'playwright-core';
import { launchChromium } from '../helpers/browser.js';
import { checkMultivariantPlaylist } from '../helpers/llhls-check.js';
import { waitFor } from '../helpers/service-process.js';
import { startTestService } from '../helpers/service.js';
import { WhipTestClient } from '../helpers/whip-client.js';
import { HEAVY_SUITE_SETUP_MS, heavySuiteTurn } from '../helpers/heavy-suite.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

const root = path.resolve(new URL('../../..', import.meta.url).pathname);
const lib = (p: string) => path.join(root, 'node_modules', p);

/**
 * The players people use, from npm, each in stock configuration (Shaka with
 * lowLatencyMode), each started 1 s after a young live stream's index.m3u8 first answers:
 * every one must play without an error event. A page per player, served from 127.0.0.1
 * on a port of its own (the origin answers CORS).
 */
/** Shaka Player (any major version: the same API) in lowLatencyMode. */
function shaka(script: string): { script: string; start: string } {
  return {
    script,
    start: `
      shaka.polyfill.installAll();
      const player = new shaka.Player();
      player.addEventListener('error', (e) => report('shaka ' + (e.detail && (e.detail.code + ' ' + JSON.stringify(e.detail.data)))));
      player.configure({ streaming: { lowLatencyMode: true } });
      await player.attach(video);
      await player.load(SRC).catch((e) => report('load ' + (e.code ?? e.message)));`,
  };
}

const PLAYERS = {
  'hls.js': {
    script: lib('hls.js/dist/hls.js'),
    start: `
      const hls = new Hls();
      hls.on(Hls.Events.ERROR, (_e, d) => report(d.type + ':' + d.details + (d.fatal ? ' (fatal)' : '')));
      hls.loadSource(SRC);
      hls.attachMedia(video);`,
  },
  'shaka 5': shaka(lib('shaka-player/dist/shaka-player.compiled.js')),
  'shaka 4': shaka(lib('shaka-player-4/dist/shaka-player.compiled.js')),
  'video.js 8': {
    script: lib('video.js/dist/video.min.js'),
    start: `
      const player = videojs(video, { autoplay: 'muted', muted: true, liveui: true });
      player.on('error', () => report('videojs ' + JSON.stringify(player.error())));
      player.src({ src: SRC, type: 'application/x-mpegURL' });`,
  },
} as const;

function page(player: keyof typeof PLAYERS, src: string): string {
  return `<!doctype html><html><body>
<video id="v" muted autoplay playsinline width="640" height="360"></video>
<script src="/player.js"></script>
<script>
  window.errors = [];
  const report = (m) => window.errors.push(String(m));
  window.addEventListener('error', (e) => report('page ' + e.message));
  const video = document.getElementById('v');
  const SRC = ${JSON.stringify(src)};
  (async () => { ${PLAYERS[player].start} })().catch((e) => report('start ' + e.message));
</script></body></html>`;
}

/** Serves one player's page and script on 127.0.0.1. */
async function pageServer(): Promise<{
  url: string;
  set: (html: string, script: string) => void;
  close: () => Promise<void>;
}> {
  let html = '';
  let script = '';
  const server = http.createServer((req, res) => {
    if (req.url === '/player.js') {
      res.writeHead(200, { 'Content-Type': 'text/javascript' });
      return void res.end(readFileSync(script));
    }
    res.writeHead(200, { 'Content-Type': 'text/html' });
    res.end(html);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    set: (h, s) => {
      html = h;
      script = s;
    },
    close: () => {
      server.closeAllConnections();
      return new Promise((r) => server.close(() => r()));
    },
  };
}

describe('players from npm start on a young live stream without an error', () => {
  let t: Started;
  let browser: Browser;
  let pages: Awaited<ReturnType<typeof pageServer>>;
  const clients: WhipTestClient[] = [];

  let turn: { release(): void } | null = null;

  beforeAll(async () => {
    turn = await heavySuiteTurn();
    t = await startTestService();
    browser = await launchChromium();
    pages = await pageServer();
  }, HEAVY_SUITE_SETUP_MS);

  afterAll(async () => {
    await Promise.all(clients.map((c) => c.close()));
    await browser?.close();
    await pages?.close();
    await t?.close();
    turn?.release();
  });

  it.each(Object.keys(PLAYERS) as (keyof typeof PLAYERS)[])(
    '%s',
    async (player) => {
      const id = `young-${player.replace(/[^a-z0-9]/g, '')}`;
      const base = t.service.url;
      const client = await WhipTestClient.publish({
        url: `${base}/whip/${id}?preset=low-latency`,
        width: 854,
        height: 480,
        seconds: 14,
        x264Preset: 'ultrafast',
      });
      clients.push(client);
      const posted = client.postedAtMs;
      const master = await waitFor(
        'index.m3u8',
        async () => {
          const r = await fetch(`${base}/hls/${id}/index.m3u8`);
          return r.status === 200 ? r.text() : null;
        },
        20_000,
        25,
      );
      const multivariantAt = Date.now();
      // Listed variants are playable from the start: every one has a complete segment.
      checkMultivariantPlaylist(master, { video: ['480p', '360p'], audio: 'audio' });
      for (const uri of master.split('\n').filter((l) => l.endsWith('.m3u8'))) {
        const media = await (await fetch(`${base}/hls/${id}/${uri}`)).text();
        expect([uri, /#EXTINF:/.test(media)]).toEqual([uri, true]);
      }
      await new Promise((r) => setTimeout(r, Math.max(0, multivariantAt + 1000 - Date.now())));
      pages.set(page(player, `${base}/hls/${id}/index.m3u8`), PLAYERS[player].script);
      const p = await browser.newPage();
      const consoleLines: string[] = [];
      p.on('console', (m) => consoleLines.push(`${m.type()}: ${m.text()}`));
      p.on('response', (r) => {
        if (r.status() >= 400)
          consoleLines.push(
            `${r.status()} ${r.url().replace(base, '')} after ${Date.now() - (r.request().timing().startTime || Date.now())}`,
          );
      });
      p.on('request', (r) => {
        if (r.url().includes('.m3u8'))
          consoleLines.push(`GET ${r.url().replace(base, '')} at ${Date.now() - posted}`);
      });
      const dump = async (): Promise<string> => {
        const errors = await p.evaluate(() => (window as unknown as { errors: string[] }).errors);
        return JSON.stringify({ errors, console: consoleLines.slice(-40) }, null, 1);
      };
      try {
        await p.goto(pages.url);
        const started = Date.now();
        const playing = (s: number) =>
          p
            .waitForFunction((s) => (document.querySelector('video')?.currentTime ?? 0) > s, s, {
              timeout: 20_000,
            })
            .catch(async (e: Error) => {
              throw new Error(`${player} did not play past ${s} s: ${e.message}\n${await dump()}`);
            });
        await playing(0);
        const playingAt = Date.now();
        await playing(3);
        const errors = await p.evaluate(() => (window as unknown as { errors: string[] }).errors);
        console.log(
          `${player}: index.m3u8 ${multivariantAt - posted} ms after the POST, playing ` +
            `${playingAt - started} ms after the page opened (${playingAt - posted} ms after the POST)`,
        );
        expect(errors).toEqual([]);
      } finally {
        await p.close();
        await client.close();
      }
    },
    90_000,
  );
});
