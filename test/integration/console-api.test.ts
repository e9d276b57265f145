import { readdirSync, statSync } from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createRequestListener, type ApiDeps } from '../../src/api/app.js';
import type { Poster, PostersApi } from '../../src/origin/live-posters.js';
import { loadConfig } from '../../src/core/config.js';
import { packageRoot } from '../../src/core/paths.js';
import type { JobView } from '../../src/core/jobs.js';
import type { JobsApi, WorkersApi } from '../../src/workers/index.js';
import { createLogger } from '../../src/core/log.js';
import type { PresetStore } from '../../src/core/presets/types.js';
import type { StreamView } from '../../src/core/streams.js';
import type { StreamsApi } from '../../src/live/index.js';
import type { WorkerInfo } from '../../src/core/workers.js';
import { MemoryStorage } from '../helpers/memory-storage.js';

/** The HTTP the console relies on, against the real app with its roles faked. */
describe('the API the console polls, and the pictures it shows', () => {
  let server: http.Server;
  let base = '';
  let jobs: JobView[] = [];
  const workers: WorkerInfo[] = [];
  const posterCalls: string[] = [];
  const storage = new MemoryStorage();
  const poster: Poster = { body: Buffer.from('jpeg-of-cam'), modified: new Date(), etag: '"p1"' };

  const cam: StreamView = {
    id: 'cam',
    state: 'live',
    startedAt: new Date().toISOString(),
    playlistUrl: '/hls/cam/index.m3u8',
    viewers: { whep: 0 },
  };

  beforeAll(async () => {
    await storage.put('file1/poster.jpg', Buffer.from('stored-jpeg'), 'image/jpeg');
    const ingest: StreamsApi = {
      list: () => [cam],
      get: (id) => (id === 'cam' ? cam : null),
      withJob: async (v) => v,
    };
    const posters: PostersApi = {
      get: async (id) => (posterCalls.push(id), id === 'cam' ? poster : null),
      close: async () => undefined,
    };
    const deps = {
      config: loadConfig({}),
      log: createLogger('silent'),
      presets: {
        list: async () => [],
        page: async () => ({ entries: [], next: null }),
      } as unknown as PresetStore,
      jobs: { list: async () => jobs } as unknown as JobsApi,
      workers: { list: async () => workers } as WorkersApi,
      streams: ingest,
      storage,
      capabilities: () => ({}),
      posters,
    } as unknown as ApiDeps;
    server = http.createServer(createRequestListener(deps));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((r) => server.close(r));
  });

  it('lists answer with a weak ETag and a bodiless 304 while unchanged', async () => {
    for (const path of ['/api/jobs', '/api/workers', '/api/streams', '/api/presets']) {
      const first = await fetch(`${base}${path}`);
      expect(first.status).toBe(200);
      const tag = first.headers.get('etag') ?? '';
      expect(tag).toMatch(/^W\/".+"$/);
      expect(first.headers.get('cache-control')).toBe('no-cache');
      const again = await fetch(`${base}${path}`, { headers: { 'if-none-match': tag } });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe('');
    }
    const tag = (await fetch(`${base}/api/jobs`)).headers.get('etag') ?? '';
    jobs = [{ id: 'j1' } as JobView];
    const changed = await fetch(`${base}/api/jobs`, { headers: { 'if-none-match': tag } });
    expect(changed.status).toBe(200);
    expect(((await changed.json()) as { jobs: JobView[] }).jobs).toHaveLength(1);
    expect(changed.headers.get('etag')).not.toBe(tag);
  });

  it('counts LL-HLS viewers from playlist requests into the stream view', async () => {
    await fetch(`${base}/hls/cam/index.m3u8`, { headers: { 'user-agent': 'player-a' } });
    await fetch(`${base}/hls/cam/360p.m3u8`, { headers: { 'user-agent': 'player-b' } });
    await fetch(`${base}/hls/cam/360p.m3u8`, { headers: { 'user-agent': 'player-b' } });
    const list = (await (await fetch(`${base}/api/streams`)).json()) as { streams: StreamView[] };
    expect(list.streams[0]?.viewers).toEqual({ whep: 0, hls: 2 });
    const one = (await (await fetch(`${base}/api/streams/cam`)).json()) as StreamView;
    expect(one.viewers?.hls).toBe(2);
  });

  it("serves a live stream's poster from memory, cacheable for 5 s, with an ETag", async () => {
    const res = await fetch(`${base}/hls/cam/poster.jpg`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(res.headers.get('cache-control')).toBe('public, max-age=5');
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    expect(res.headers.get('etag')).toBe('"p1"');
    expect(Buffer.from(await res.arrayBuffer()).toString()).toBe('jpeg-of-cam');
    const again = await fetch(`${base}/hls/cam/poster.jpg?t=123`, { headers: { 'if-none-match': '"p1"' } });
    expect(again.status).toBe(304);
  });

  it("serves a file's stored poster like its segments: immutable", async () => {
    const res = await fetch(`${base}/hls/file1/poster.jpg`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toBe('image/jpeg');
    expect(res.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect(Buffer.from(await res.arrayBuffer()).toString()).toBe('stored-jpeg');
    // Only live streams get a poster made: a file never reaches the poster maker.
    expect(posterCalls).not.toContain('file1');
  });

  it('answers 404 for a stream or file without a picture', async () => {
    expect((await fetch(`${base}/hls/nothing/poster.jpg`)).status).toBe(404);
    expect((await fetch(`${base}/hls/..%2Fx/poster.jpg`)).status).toBe(404);
  });

  it('serves the console page, its modules and the chart library', async () => {
    const page = await fetch(`${base}/`);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    for (const panel of ['watch', 'live', 'health', 'files', 'presets', 'workers']) {
      expect(html).toContain(`href="#${panel}"`);
    }
    expect((await fetch(`${base}/player/main.js`)).status).toBe(200);
    const js = await fetch(`${base}/vendor/uplot.js`);
    expect(js.headers.get('content-type')).toMatch(/javascript/);
    expect((await js.text()).length).toBeGreaterThan(10_000);
    expect((await fetch(`${base}/vendor/uplot.css`)).headers.get('content-type')).toMatch(/^text\/css/);
  });

  it('loads fast: no file the console loads is over 200 KB (hls.js aside), its own modules under 200 KB together', () => {
    const root = packageRoot();
    const modules = readdirSync(path.join(root, 'dist', 'player'))
      .filter((f) => f.endsWith('.js'))
      .map((f) => path.join(root, 'dist', 'player', f));
    const files = [
      ...modules,
      path.join(root, 'player', 'index.html'),
      path.join(root, 'player', 'style.css'),
      path.join(root, 'node_modules', 'uplot', 'dist', 'uPlot.iife.min.js'),
      path.join(root, 'node_modules', 'uplot', 'dist', 'uPlot.min.css'),
    ];
    const sizes = Object.fromEntries(files.map((f) => [path.relative(root, f), statSync(f).size]));
    for (const [file, size] of Object.entries(sizes))
      expect({ file, kb: size / 1024 < 200 }).toEqual({ file, kb: true });
    const own = modules.reduce((sum, f) => sum + statSync(f).size, 0);
    expect(own).toBeLessThan(200 * 1024);
  });
});
