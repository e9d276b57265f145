import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import { acceptsGzip } from '../../src/origin/http-cache.js';
import { createOriginHttp } from '../../src/origin/http.js';
import { LiveOrigin } from '../../src/origin/live-origin.js';
import { LocalLiveBus } from '../../src/packager/live/bus.js';
import { TimelineFeed } from '../helpers/live-timeline-feed.js';
import { LocalStorage } from '../../src/packager/storage/local.js';
import { VodPackager } from '../../src/packager/vod/packager.js';

const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const fixture = (name: string): Buffer =>
  readFileSync(new URL(`../../../test/fixtures/fmp4/${name}`, import.meta.url));

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: Buffer;
}

/** A raw request: node:http sends the path exactly as given, `..` and all (fetch would normalise it). */
function request(
  port: number,
  rawPath: string,
  opts: { method?: string; headers?: Record<string, string> } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        path: rawPath,
        method: opts.method ?? 'GET',
        headers: opts.headers ?? {},
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end();
  });
}

describe('HLS origin (GET/HEAD /hls/:id/:name)', () => {
  let root: string;
  let server: http.Server;
  const bus = new LocalLiveBus();
  let origin: LiveOrigin;
  let port: number;
  const playlist = '#EXTM3U\n' + '#EXT-X-STREAM-INF:BANDWIDTH=1000000\nv.m3u8\n'.repeat(20);

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'whipcast-origin-'));
    const hlsRoot = path.join(root, 'hls');
    const storage = new LocalStorage(hlsRoot);
    await storage.put('a1/index.m3u8', Buffer.from(playlist), 'application/vnd.apple.mpegurl');
    await storage.put('a1/720p_1.m4s', Buffer.alloc(3000, 7), 'video/mp4');
    await storage.put('live1/720p.m3u8', Buffer.from('#EXTM3U\n'), 'application/vnd.apple.mpegurl');
    await storage.put('live1/720p_1.2.m4s', Buffer.alloc(10, 1), 'video/mp4');
    // Things planted inside the storage folder that must never be served.
    await writeFile(path.join(root, 'secret.txt'), 'secret');
    await symlink(path.join(root, 'secret.txt'), path.join(hlsRoot, 'a1', 'leak.m3u8'));
    await symlink('/etc/passwd', path.join(hlsRoot, 'a1', 'passwd.m4s'));
    await mkdir(path.join(hlsRoot, 'a1', 'dir.m4s'));
    await symlink(path.join(hlsRoot, 'a1'), path.join(hlsRoot, 'linked'));
    // A real VOD, packaged from the fixtures, for a real HLS client.
    const p = new VodPackager({
      storage,
      assetId: 'clip',
      segmentSeconds: 1,
      renditions: [
        { name: '90p', kind: 'video', width: 160, height: 90, fps: 30, nominalBitrateKbps: 40 },
        { name: 'audio', kind: 'audio', nominalBitrateKbps: 24 },
      ],
    });
    await Promise.all([
      pipeline(Readable.from([fixture('h264.mp4')]), p.writable('90p')),
      pipeline(Readable.from([fixture('aac.mp4')]), p.writable('audio')),
    ]);
    await p.finish();

    const app = express();
    // Stream live1 is live (another rendition of it announced), so its stored playlists change.
    const f = new TimelineFeed({ rendition: '480p' });
    f.beginRun();
    f.parts(1);
    origin = new LiveOrigin({ bus });
    await bus.publish({
      v: 1,
      streamId: 'live1',
      rendition: '480p',
      state: f.t.state,
      part: null,
      at: Date.now(),
    });
    app.use('/hls', createOriginHttp({ storage, origin }).router);
    server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;
  });

  afterAll(async () => {
    await origin.close();
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(root, { recursive: true, force: true });
  });

  it('serves a playlist with its type, cache policy, validators and CORS', async () => {
    const r = await request(port, '/hls/a1/index.m3u8');
    expect(r.status).toBe(200);
    expect(r.body.toString()).toBe(playlist);
    expect(r.headers['content-type']).toBe('application/vnd.apple.mpegurl');
    expect(r.headers['content-length']).toBe(String(playlist.length));
    expect(r.headers['cache-control']).toBe('public, max-age=60');
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.headers['access-control-expose-headers']).toMatch(/Content-Length/);
    expect(r.headers['vary']).toBe('Accept-Encoding');
    expect(r.headers['etag']).toMatch(/^"[A-Za-z0-9_-]+"$/);
    expect(Date.parse(r.headers['last-modified'] ?? '')).not.toBeNaN();
  });

  it('serves segments and parts as immutable video/mp4', async () => {
    const r = await request(port, '/hls/a1/720p_1.m4s');
    expect(r.status).toBe(200);
    expect(r.body.equals(Buffer.alloc(3000, 7))).toBe(true);
    expect(r.headers['content-type']).toBe('video/mp4');
    expect(r.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(r.headers['vary']).toBeUndefined();
  });

  it('lets live playlists be revalidated, while their parts stay immutable', async () => {
    expect((await request(port, '/hls/live1/720p.m3u8')).headers['cache-control']).toBe('no-cache');
    expect((await request(port, '/hls/live1/720p_1.2.m4s')).headers['cache-control']).toBe(
      'public, max-age=31536000, immutable',
    );
  });

  it('answers HEAD with the headers of GET and no body', async () => {
    const get = await request(port, '/hls/a1/720p_1.m4s');
    const head = await request(port, '/hls/a1/720p_1.m4s', { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
    for (const h of ['content-type', 'content-length', 'etag', 'cache-control', 'last-modified']) {
      expect(head.headers[h]).toBe(get.headers[h]);
    }
  });

  it('answers 304 to a matching If-None-Match or an unchanged If-Modified-Since', async () => {
    const first = await request(port, '/hls/a1/index.m3u8');
    const etag = first.headers['etag']!;
    const byTag = await request(port, '/hls/a1/index.m3u8', {
      headers: { 'If-None-Match': `"other", W/${etag}` },
    });
    expect(byTag.status).toBe(304);
    expect(byTag.body.length).toBe(0);
    expect(byTag.headers['etag']).toBe(etag);
    expect(byTag.headers['cache-control']).toBe('public, max-age=60');
    const byDate = await request(port, '/hls/a1/index.m3u8', {
      headers: { 'If-Modified-Since': first.headers['last-modified']! },
    });
    expect(byDate.status).toBe(304);
    const stale = await request(port, '/hls/a1/index.m3u8', { headers: { 'If-None-Match': '"nope"' } });
    expect(stale.status).toBe(200);
    const older = await request(port, '/hls/a1/index.m3u8', {
      headers: { 'If-Modified-Since': 'Thu, 01 Jan 1998 00:00:00 GMT' },
    });
    expect(older.status).toBe(200);
  });

  it('gzips playlists for clients that accept it, under a different ETag', async () => {
    const plain = await request(port, '/hls/a1/index.m3u8');
    const gz = await request(port, '/hls/a1/index.m3u8', {
      headers: { 'Accept-Encoding': 'br, gzip;q=0.8' },
    });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).toString()).toBe(playlist);
    expect(Number(gz.headers['content-length'])).toBe(gz.body.length);
    expect(gz.body.length).toBeLessThan(playlist.length);
    expect(gz.headers['etag']).not.toBe(plain.headers['etag']);
    const refused = await request(port, '/hls/a1/index.m3u8', { headers: { 'Accept-Encoding': 'gzip;q=0' } });
    expect(refused.headers['content-encoding']).toBeUndefined();
    const segment = await request(port, '/hls/a1/720p_1.m4s', { headers: { 'Accept-Encoding': 'gzip' } });
    expect(segment.headers['content-encoding']).toBeUndefined();
  });

  it('answers a CORS preflight', async () => {
    const r = await request(port, '/hls/a1/index.m3u8', {
      method: 'OPTIONS',
      headers: { Origin: 'https://player.example', 'Access-Control-Request-Method': 'GET' },
    });
    expect(r.status).toBe(204);
    expect(r.headers['access-control-allow-origin']).toBe('*');
    expect(r.headers['access-control-allow-methods']).toBe('GET, HEAD, OPTIONS');
  });

  it.each([
    ['a name never written', '/hls/a1/720p_9.m4s'],
    ['an unknown stream', '/hls/nobody/index.m3u8'],
    ['.. as the id', '/hls/../secret.txt'],
    ['.. in the name', '/hls/a1/../../secret.txt'],
    ['encoded ..', '/hls/a1/%2e%2e'],
    ['encoded ../', '/hls/a1/%2e%2e%2f%2e%2e%2fsecret.txt'],
    ['encoded .. as the id', '/hls/%2e%2e/secret.txt'],
    ['double-encoded ..', '/hls/a1/%252e%252e%252fsecret.txt'],
    ['a backslash', '/hls/a1/..%5c..%5csecret.txt'],
    ['a raw backslash', '/hls/a1/..\\..\\secret.txt'],
    ['an absolute path', '/hls/a1//etc/passwd'],
    ['an encoded absolute path', '/hls/a1/%2fetc%2fpasswd'],
    ['an empty id', '/hls//index.m3u8'],
    ['a name with a slash', '/hls/a1/sub/720p_1.m4s'],
    ['a trailing slash', '/hls/a1/index.m3u8/'],
    ['a NUL byte', '/hls/a1/index.m3u8%00'],
    ['malformed percent-encoding', '/hls/a1/%zz.m3u8'],
    ['upper case', '/hls/a1/INDEX.M3U8'],
    ['a dot file', '/hls/a1/.tmp-x'],
    ['a symlink planted as a playlist', '/hls/a1/leak.m3u8'],
    ['a symlink to /etc/passwd', '/hls/a1/passwd.m4s'],
    ['a symlinked stream folder', '/hls/linked/index.m3u8'],
    ['a directory', '/hls/a1/dir.m4s'],
    ['the stream folder itself', '/hls/a1'],
    ['the root', '/hls/'],
  ])('404s %s (%s)', async (_name, rawPath) => {
    const r = await request(port, rawPath);
    expect(r.status).toBe(404);
    expect(r.headers['content-type']).toMatch(/^application\/json/);
    expect(JSON.parse(r.body.toString())).toEqual({
      error: { code: 'not_found', message: expect.any(String) },
    });
    expect(r.body.toString()).not.toContain('secret');
    expect(r.body.toString()).not.toContain('root:');
    expect(r.headers['cache-control']).toBe('no-store');
    expect(r.headers['access-control-allow-origin']).toBe('*');
  });

  it('404s other methods', async () => {
    expect((await request(port, '/hls/a1/index.m3u8', { method: 'POST' })).status).toBe(404);
    expect((await request(port, '/hls/a1/index.m3u8', { method: 'DELETE' })).status).toBe(404);
  });

  it('is played end to end by ffmpeg over HTTP', async () => {
    const out = await new Promise<{ code: number | null; stdout: string; stderr: string }>(
      (resolve, reject) => {
        const child = spawn(
          FFMPEG,
          [
            '-v',
            'error',
            '-i',
            `http://127.0.0.1:${port}/hls/clip/index.m3u8`,
            '-map',
            '0',
            '-f',
            'framecrc',
            '-',
          ],
          {
            stdio: ['ignore', 'pipe', 'pipe'],
          },
        );
        let stdout = '';
        let stderr = '';
        child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
        child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
        child.on('error', reject);
        child.on('close', (code) => resolve({ code, stdout, stderr }));
      },
    );
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
    const counts = new Map<string, number>();
    for (const l of out.stdout.split('\n')) {
      const idx = /^(\d+),/.exec(l)?.[1];
      if (idx !== undefined) counts.set(idx, (counts.get(idx) ?? 0) + 1);
    }
    // 2 s of 30 fps video, and 2 s of 48 kHz AAC (1024-sample frames, plus encoder priming).
    expect([...counts.values()].sort((a, b) => a - b)).toEqual([60, 95]);
  });
});

describe('acceptsGzip', () => {
  it.each<[string | undefined, boolean]>([
    [undefined, false],
    ['', false],
    ['gzip', true],
    ['gzip, deflate, br', true],
    ['br;q=1.0, gzip;q=0.5', true],
    ['gzip;q=0', false],
    ['GZIP', true],
    ['*', true],
    ['*;q=0', false],
    ['identity', false],
    ['x-gzip', true],
  ])('%j → %s', (header, ok) => {
    expect(acceptsGzip(header)).toBe(ok);
  });
});
