import { partName } from '../../src/packager/names.js';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import { LiveOrigin } from '../../src/origin/live-origin.js';
import { createOriginHttp } from '../../src/origin/http.js';
import { LocalLiveBus } from '../../src/packager/live/bus.js';
import { renderLivePlaylist, renditionReport } from '../../src/packager/live/playlist.js';
import { checkMediaPlaylist } from '../helpers/llhls-check.js';
import { get } from '../helpers/http-get.js';
import { publishParts, TimelineFeed } from '../helpers/live-timeline-feed.js';
import { MemoryStorage } from '../helpers/memory-storage.js';

/**
 * The origin's HTTP behaviour for live streams, on synthetic playlists (no ffmpeg): what
 * a blocking reload, a delta update, a preload-hinted part and the error cases answer.
 * live-origin.test.ts runs the same against a real ffmpeg ladder over Redis. Everything
 * runs twice: with express's hlsRouter alone, and with the fast lane (hlsFastLane) in
 * front of it, as the service runs it.
 */
describe.each([
  ['through express', false],
  ['through the fast lane', true],
] as const)('HLS origin, live streams, %s', (_label, withLane) => {
  const storage = new MemoryStorage();
  const bus = new LocalLiveBus();
  const origin = new LiveOrigin({ bus, maxHeld: 5 });
  const v = new TimelineFeed({ rendition: 'v', windowSegments: 10 });
  const a = new TimelineFeed({ rendition: 'a', windowSegments: 10 });
  let server: http.Server;
  let port: number;
  /** An express-only server on the same origin, to compare the lane's bytes with. */
  let plain: http.Server;
  let plainPort: number;
  const taken: string[] = [];

  /** Adds `n` parts to a rendition: bytes to storage first, then the event, as the packager does. */
  const parts = (feed: TimelineFeed, n: number, withBody = false) =>
    publishParts({ feed, storage, bus, streamId: 'cam', withBody }, n);

  beforeAll(async () => {
    await storage.put('cam/index.m3u8', Buffer.from('#EXTM3U\n'), 'application/vnd.apple.mpegurl');
    await storage.put(
      'vod/v.m3u8',
      Buffer.from('#EXTM3U\n#EXT-X-ENDLIST\n'),
      'application/vnd.apple.mpegurl',
    );
    v.beginRun();
    a.beginRun();
    await parts(v, 6);
    await parts(a, 6);
    const app = express();
    app.disable('x-powered-by'); // as the service's app does
    const originHttp = createOriginHttp({ storage, origin, taken: (req) => void taken.push(req.url!) });
    app.use('/hls', originHttp.router);
    const lane = withLane ? originHttp.lane : null;
    server = http.createServer((req, res) => {
      if (!lane?.(req, res)) app(req, res);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
    plain = http.createServer(app);
    await new Promise<void>((r) => plain.listen(0, '127.0.0.1', r));
    plainPort = (plain.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await origin.close();
    await bus.close();
    for (const srv of [server, plain]) {
      srv.closeAllConnections();
      await new Promise((r) => srv.close(r));
    }
  });

  /** Status, headers but Date, and body: what must not depend on which path answered. */
  const same = (r: Awaited<ReturnType<typeof get>>) => {
    const { date: _date, ...headers } = r.headers;
    return { status: r.status, headers, body: r.body.toString('base64') };
  };

  it('answers in the same bytes whichever path takes a request', async () => {
    await get(port, '/hls/cam/v_1.1.m4s'); // a storage read keeps the part in memory
    const etag = (await get(plainPort, '/hls/cam/v.m3u8')).headers['etag']!;
    for (const [path, headers] of [
      ['/hls/cam/v.m3u8', {}],
      ['/hls/cam/v.m3u8', { 'Accept-Encoding': 'gzip, deflate, br' }],
      ['/hls/cam/v.m3u8?_HLS_msn=1&_HLS_part=0', {}],
      ['/hls/cam/v.m3u8', { 'If-None-Match': etag }],
      ['/hls/cam/v_1.1.m4s', {}],
      ['/hls/cam/v.m3u8?_HLS_msn=99', {}],
      ['/hls/cam/index.m3u8', {}],
    ] as const) {
      const a = await get(port, path, { headers });
      const b = await get(plainPort, path, { headers });
      expect([path, same(a)]).toEqual([path, same(b)]);
    }
    const head = await get(port, '/hls/cam/v.m3u8', { method: 'HEAD' });
    expect(same(head)).toEqual(same(await get(plainPort, '/hls/cam/v.m3u8', { method: 'HEAD' })));
    if (withLane) {
      // The live playlists and the remembered part came through the lane; the rest did not.
      expect(taken).toEqual(
        expect.arrayContaining([
          '/hls/cam/v.m3u8',
          '/hls/cam/v.m3u8?_HLS_msn=1&_HLS_part=0',
          '/hls/cam/v_1.1.m4s',
        ]),
      );
      expect(taken).not.toContain('/hls/cam/v.m3u8?_HLS_msn=99');
      expect(taken).not.toContain('/hls/cam/index.m3u8');
    }
  });

  const check = (body: Buffer, extra: { delta?: boolean; ended?: boolean } = {}) =>
    checkMediaPlaylist(body.toString(), { rendition: 'v', renditions: ['v', 'a'], kind: 'video', ...extra });

  it('answers a live media playlist from memory, uncached, with validators, CORS and gzip', async () => {
    const r = await get(port, '/hls/cam/v.m3u8');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe(renderLivePlaylist(v.t.state, { reports: [renditionReport(a.t.state)!] }));
    check(r.body);
    expect(r.headers['content-type']).toBe('application/vnd.apple.mpegurl');
    expect(r.headers['cache-control']).toBe('no-cache');
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.headers['vary']).toBe('Accept-Encoding');
    const again = await get(port, '/hls/cam/v.m3u8', { headers: { 'If-None-Match': r.headers['etag']! } });
    expect(again.status).toBe(304);
    const gz = await get(port, '/hls/cam/v.m3u8', { headers: { 'Accept-Encoding': 'gzip' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).toString()).toBe(r.body.toString());
  });

  it('keeps a live index.m3u8 briefly cacheable and parts immutable', async () => {
    expect((await get(port, '/hls/cam/index.m3u8')).headers['cache-control']).toBe('public, max-age=2');
    const part = await get(port, '/hls/cam/v_1.0.m4s');
    expect(part.status).toBe(200);
    expect(part.headers['cache-control']).toBe('public, max-age=31536000, immutable');
  });

  it('holds a blocking reload until the part exists and answers with it', async () => {
    const pending = get(port, '/hls/cam/v.m3u8?_HLS_msn=2&_HLS_part=2');
    await new Promise((r) => setTimeout(r, 100));
    expect(origin.held).toBe(1);
    const t0 = performance.now();
    await parts(v, 1);
    const r = await pending;
    console.log(
      `blocking reload answered ${(performance.now() - t0).toFixed(1)} ms after the part was published`,
    );
    expect(r.status).toBe(200);
    expect(r.body.toString()).toContain('URI="v_2.2.m4s"');
    check(r.body);
    expect(r.headers['cache-control']).toBe('no-cache');
  });

  it.each([
    ['_HLS_part without _HLS_msn', '/hls/cam/v.m3u8?_HLS_part=1'],
    ['a negative msn', '/hls/cam/v.m3u8?_HLS_msn=-1'],
    ['two msns', '/hls/cam/v.m3u8?_HLS_msn=3&_HLS_msn=4'],
    ['a bad skip', '/hls/cam/v.m3u8?_HLS_skip=NO'],
    ['an msn more than two segments ahead', '/hls/cam/v.m3u8?_HLS_msn=5'],
  ])('answers 400 at once to %s', async (_n, path) => {
    const r = await get(port, path);
    expect(r.status).toBe(400);
    expect(JSON.parse(r.body.toString())).toEqual({
      error: { code: 'bad_request', message: expect.any(String) },
    });
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.ms).toBeLessThan(1000);
  });

  it('answers 503 when the part does not come in time', async () => {
    const r = await get(port, '/hls/cam/v.m3u8?_HLS_msn=4&_HLS_part=0');
    expect(r.status).toBe(503);
    expect(r.headers['retry-after']).toBe('1');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.ms).toBeGreaterThan(400);
    expect(origin.held).toBe(0);
  });

  it('forgets a held request when the client goes away', async () => {
    const ac = new AbortController();
    const pending = get(port, '/hls/cam/v.m3u8?_HLS_msn=3&_HLS_part=1', { signal: ac.signal });
    await new Promise((r) => setTimeout(r, 100));
    expect(origin.held).toBe(1);
    ac.abort();
    await expect(pending).rejects.toThrow();
    await new Promise((r) => setTimeout(r, 100));
    expect(origin.held).toBe(0);
  });

  it('answers 503 at once beyond the cap on held requests', async () => {
    const ac = new AbortController();
    const held = Array.from({ length: 5 }, () =>
      get(port, '/hls/cam/v.m3u8?_HLS_msn=4', { signal: ac.signal }).catch(() => null),
    );
    await new Promise((r) => setTimeout(r, 200));
    const r = await get(port, '/hls/cam/v.m3u8?_HLS_msn=4');
    expect(r.status).toBe(503);
    expect(r.ms).toBeLessThan(300);
    ac.abort();
    await Promise.all(held);
  });

  it('serves a delta update on _HLS_skip=YES', async () => {
    await parts(v, 40);
    await parts(a, 40);
    const r = await get(port, '/hls/cam/v.m3u8?_HLS_skip=YES');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toMatch(/#EXT-X-SKIP:SKIPPED-SEGMENTS=\d+\n/);
    check(r.body, { delta: true });
    const v2 = await get(port, `/hls/cam/v.m3u8?_HLS_skip=v2&_HLS_msn=${v.t.state.open!.msn - 1}`);
    expect(v2.body.toString()).toBe(r.body.toString());
  });

  it('holds the preload-hinted part until it is published, 404 for one that never comes', async () => {
    const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(
      (await get(port, '/hls/cam/v.m3u8')).body.toString(),
    )![1]!;
    const pending = get(port, `/hls/cam/${hint}`);
    await new Promise((r) => setTimeout(r, 100));
    const t0 = performance.now();
    await parts(v, 1);
    const r = await pending;
    console.log(
      `preload-hinted part answered ${(performance.now() - t0).toFixed(1)} ms after it was published`,
    );
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe(`bytes of ${hint}`);
    expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const s = v.t.state;
    expect((await get(port, `/hls/cam/${partName('v', s.open!.msn + 5, 0)}`)).status).toBe(404);
    expect((await get(port, `/hls/cam/${partName('v', s.segments[0]!.msn, 9)}`)).status).toBe(404);
  });

  it('answers a held part from the bytes that came with its announcement, without reading storage', async () => {
    // The part the feed publishes next (the playlist's preload hint guesses it the same way
    // the packager does; this synthetic feed cuts segments by count).
    const s = v.t.state;
    const full = s.open && s.open.parts.length >= v.partsPerSegment;
    const next =
      full || !s.open ? partName('v', v.t.nextMsn, 0) : partName('v', s.open.msn, s.open.parts.length);
    const readsBefore = storage.gets.length;
    const pending = get(port, `/hls/cam/${next}`);
    await new Promise((r) => setTimeout(r, 100));
    expect(origin.held).toBe(1);
    await parts(v, 1, true);
    const r = await pending;
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe(`bytes of ${next}`);
    // And again, as the next player asks for it: from memory too.
    expect((await get(port, `/hls/cam/${next}`)).body.toString()).toBe(`bytes of ${next}`);
    expect(storage.gets.slice(readsBefore)).toEqual([]);
  });

  it('answers a VOD playlist from storage, directives or not', async () => {
    const r = await get(port, '/hls/vod/v.m3u8?_HLS_msn=100');
    expect(r.status).toBe(200);
    expect(r.headers['cache-control']).toBe('public, max-age=60');
  });

  it('keeps refusing traversal', async () => {
    for (const path of [
      '/hls/cam/..%2fv.m3u8',
      '/hls/../cam/v.m3u8',
      '/hls/cam/V.M3U8',
      '/hls/cam/v_1.0.m4s%00',
    ]) {
      expect((await get(port, path)).status).toBe(404);
    }
  });

  it('answers held requests with the final playlist when the stream ends', async () => {
    const next = v.t.state.open!;
    const pending = get(port, `/hls/cam/v.m3u8?_HLS_msn=${next.msn + 1}&_HLS_part=0`);
    const hinted = get(port, `/hls/cam/${partName('v', next.msn, next.parts.length)}`);
    await new Promise((r) => setTimeout(r, 100));
    v.close();
    v.t.end();
    await bus.publish({
      v: 1,
      streamId: 'cam',
      rendition: 'v',
      state: v.t.state,
      part: null,
      at: Date.now(),
    });
    const r = await pending;
    expect(r.status).toBe(200);
    check(r.body, { ended: true });
    expect((await hinted).status).toBe(404);
  });

  it('took the held requests in the lane when it is there', () => {
    const heldInLane = taken.filter((u) => u.includes('_HLS_msn=')).length;
    expect(heldInLane > 0).toBe(withLane);
  });
});
