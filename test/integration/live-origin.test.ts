import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import express from 'express';
import { pino } from 'pino';
import { LiveOrigin } from '../../src/origin/live-origin.js';
import { createOriginHttp } from '../../src/origin/http.js';
import { Fmp4Splitter } from '../../src/packager/fmp4-splitter.js';
import type { LiveEvent } from '../../src/packager/live/bus.js';
import { RedisLiveBus } from '../../src/packager/live/redis-bus.js';
import { createLivePackagerFactory } from '../../src/packager/live/packager.js';
import type { LivePackagerLike } from '../../src/packager/live/types.js';
import type { MediaPlaylist } from '../../src/packager/playlist/media.js';
import type { RenditionSpec } from '../../src/packager/rendition.js';
import { LocalStorage } from '../../src/packager/storage/local.js';
import { get } from '../helpers/http-get.js';
import { LiveLadder } from '../helpers/live-ladder.js';
import { LlhlsTracker, checkMediaPlaylist, checkMultivariantPlaylist } from '../helpers/llhls-check.js';

/**
 * The live path end to end in one process, split as the roles are split across
 * processes: a real ffmpeg ladder (2 rungs + AAC, in real time) → the packager (through
 * its factory) → LocalStorage, and a RedisLiveBus to a LiveOrigin with its own Redis
 * connection, served by hlsRouter in an express app. Playlists are fetched over HTTP and
 * checked with the strict LL-HLS checker at every reload.
 */

const STREAM = 'livetest';
const SECONDS = 11;
const specs: RenditionSpec[] = [
  { name: '360p', kind: 'video', width: 640, height: 360, fps: 30, nominalBitrateKbps: 500 },
  { name: '180p', kind: 'video', width: 320, height: 180, fps: 30, nominalBitrateKbps: 200 },
  { name: 'audio', kind: 'audio', nominalBitrateKbps: 64 },
];
const NAMES = specs.map((s) => s.name);
const kindOf = (r: string) => specs.find((s) => s.name === r)!.kind;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;
const pct = (xs: number[], p: number) =>
  [...xs].sort((a, b) => a - b)[Math.min(xs.length - 1, Math.floor(xs.length * p))] ?? NaN;

describe('live LL-HLS: ffmpeg → packager → Redis → origin', () => {
  const log = pino({ level: 'silent' });
  const prefix = `test-live-${process.pid}-${Date.now()}`;
  const url = process.env.REDIS_URL!;
  let root: string;
  let storage: LocalStorage;
  let packagerBus: RedisLiveBus;
  let originBus: RedisLiveBus;
  let watchBus: RedisLiveBus;
  let origin: LiveOrigin;
  let packager: LivePackagerLike;
  let ladder: LiveLadder;
  let fed: Promise<unknown>;
  let server: http.Server;
  let port: number;
  /** When each part was published (the packager's clock, same machine): `{rendition}/{msn}.{part}` → epoch ms. */
  const publishedAt = new Map<string, number>();
  const wakeLags: number[] = [];

  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'whipcast-live-'));
    storage = new LocalStorage(root);
    packagerBus = new RedisLiveBus({ url, prefix, log, connectionName: 'test-packager' });
    originBus = new RedisLiveBus({ url, prefix, log, connectionName: 'test-origin' });
    watchBus = new RedisLiveBus({ url, prefix, log, connectionName: 'test-watch' });
    watchBus.subscribe((e: LiveEvent) => {
      if (e.part) publishedAt.set(`${e.rendition}/${e.part.msn}.${e.part.part}`, e.at);
    });
    origin = new LiveOrigin({ bus: originBus, log, onWake: (w) => wakeLags.push(w.busLagMs) });
    await Promise.all([origin.ready(), watchBus.ready()]);
    const app = express();
    app.use('/hls', createOriginHttp({ storage, origin }).router);
    server = http.createServer(app);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as AddressInfo).port;

    const factory = createLivePackagerFactory({ storage, bus: packagerBus, windowSegments: 7 });
    packager = factory({ streamId: STREAM, renditions: specs, partSeconds: 0.2, segmentSeconds: 1, log });
    ladder = new LiveLadder({
      seconds: SECONDS,
      rungs: [
        { name: '360p', width: 640, height: 360, kbps: 500 },
        { name: '180p', width: 320, height: 180, kbps: 200 },
      ],
      audio: true,
      gopSeconds: 1,
      partSeconds: 0.2,
    });
    const run = packager.startRun(Date.now());
    fed = Promise.all(NAMES.map((n) => pipeline(ladder.outputs.get(n)!, run.writable(n)))).then(
      () => 'done',
      (e: unknown) => e,
    );
  });

  afterAll(async () => {
    await ladder?.close();
    await packager?.close();
    await origin?.close();
    server?.closeAllConnections();
    await new Promise((r) => server?.close(r));
    await Promise.all([packagerBus?.close(), originBus?.close(), watchBus?.close()]);
    if (root) await rm(root, { recursive: true, force: true });
  });

  const playlist = (r: string, query = '') => get(port, `/hls/${STREAM}/${r}.m3u8${query}`);
  /**
   * The playlist once it stopped changing: ffmpeg having exited does not mean its last
   * fragments are packaged and published yet (on a busy machine that takes a while).
   */
  const settled = async (r: string) => {
    let prev = (await playlist(r)).body.toString();
    for (;;) {
      await sleep(500);
      const now = (await playlist(r)).body.toString();
      if (now === prev) return now;
      prev = now;
    }
  };

  it('writes index.m3u8 once every rendition has a part, with codecs, sizes and the audio group', async () => {
    let r = await get(port, `/hls/${STREAM}/index.m3u8`);
    for (let i = 0; r.status === 404 && i < 100; i++) {
      await sleep(100);
      r = await get(port, `/hls/${STREAM}/index.m3u8`);
    }
    expect(r.status).toBe(200);
    const mv = checkMultivariantPlaylist(r.body.toString(), { video: ['360p', '180p'], audio: 'audio' });
    expect(mv.variants.map((v) => v.resolution)).toEqual([
      { width: 640, height: 360 },
      { width: 320, height: 180 },
    ]);
    expect(mv.variants[0]!.codecs).toEqual([expect.stringMatching(/^avc1\./), 'mp4a.40.2']);
    expect(r.headers['cache-control']).toBe('public, max-age=2');
    for (const n of NAMES) {
      const p = await playlist(n);
      expect(p.status).toBe(200);
    }
  });

  it('follows the live edge with blocking reloads; every answer passes the strict checker and holds the part', async () => {
    const latencies: number[] = [];
    const trackers = new Map(
      NAMES.map((n) => [n, new LlhlsTracker({ rendition: n, renditions: NAMES, kind: kindOf(n) })]),
    );
    const follow = async (r: string): Promise<number> => {
      const tracker = trackers.get(r)!;
      let p: MediaPlaylist = tracker.check((await playlist(r)).body.toString());
      let reloads = 0;
      const until = Date.now() + 4000;
      while (Date.now() < until && !p.endList) {
        // As hls.js in low-latency mode: the part after the last one listed.
        const trailing = p.trailingParts?.length ?? 0;
        const msn = p.mediaSequence + p.segments.length;
        const want = trailing > 0 ? { msn, part: trailing } : { msn, part: 0 };
        const res = await playlist(r, `?_HLS_msn=${want.msn}&_HLS_part=${want.part}`);
        const got = Date.now();
        expect(res.status).toBe(200);
        expect(res.headers['cache-control']).toBe('no-cache');
        p = tracker.check(res.body.toString());
        // The part asked for, or, when segment msn ended before it, the next segment's first part.
        const body = res.body.toString();
        const key = body.includes(`URI="${r}_${want.msn}.${want.part}.m4s"`)
          ? `${want.msn}.${want.part}`
          : `${want.msn + 1}.0`;
        expect(body).toContain(`URI="${r}_${key}.m4s"`);
        const at = publishedAt.get(`${r}/${key}`);
        if (at !== undefined) latencies.push(got - at);
        reloads++;
      }
      return reloads;
    };
    const counts = await Promise.all(NAMES.map(follow));
    console.log(
      `blocking reloads: ${counts.join('/')} per rendition; part publish → answer received: ` +
        `median ${median(latencies)} ms, p90 ${pct(latencies, 0.9)} ms, max ${Math.max(...latencies)} ms ` +
        `(n=${latencies.length}); bus publish → origin wake median ${median(wakeLags)} ms`,
    );
    // About five parts a second for four seconds: most reloads were answered by a new part.
    for (const c of counts) expect(c).toBeGreaterThan(8);
  });

  it('answers delta updates with EXT-X-SKIP once the playlist is longer than the skip boundary', async () => {
    let res = await playlist('360p', '?_HLS_skip=YES');
    for (let i = 0; i < 60 && !/#EXT-X-SKIP/.test(res.body.toString()); i++) {
      await sleep(200);
      res = await playlist('360p', '?_HLS_skip=YES');
    }
    const text = res.body.toString();
    expect(text).toMatch(/#EXT-X-SKIP:SKIPPED-SEGMENTS=\d+/);
    // A tracker that saw the full playlist first: the delta skips only segments it listed,
    // and repeats the others unchanged.
    const tracker = new LlhlsTracker({ rendition: '360p', renditions: NAMES, kind: 'video' });
    tracker.check((await playlist('360p')).body.toString(), { delta: false });
    const d = tracker.check((await playlist('360p', '?_HLS_skip=YES')).body.toString(), { delta: true });
    expect(d.skip!.skippedSegments).toBeGreaterThan(0);
  });

  it('holds the preload-hinted part until it is published, then serves it', async () => {
    const text = (await playlist('180p')).body.toString();
    const hint = /#EXT-X-PRELOAD-HINT:TYPE=PART,URI="([^"]+)"/.exec(text)?.[1];
    expect(hint).toBeDefined();
    const res = await get(port, `/hls/${STREAM}/${hint}`);
    expect(res.status).toBe(200);
    expect(res.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    const key = /^180p_(\d+)\.(\d+)\.m4s$/.exec(hint!)!;
    const at = publishedAt.get(`180p/${key[1]}.${key[2]}`);
    console.log(
      `preload-hinted part held ${res.ms.toFixed(0)} ms; answered ${at ? Date.now() - at : '?'} ms after publish`,
    );
    const stored = await storage.get(`${STREAM}/${hint}`);
    expect(res.body.equals(stored!.body)).toBe(true);
  });

  it('answers 400 at once to malformed or too distant directives', async () => {
    const cur = checkMediaPlaylist((await playlist('360p')).body.toString(), {
      rendition: '360p',
      renditions: NAMES,
    });
    const last = cur.mediaSequence + cur.segments.length;
    for (const q of ['?_HLS_part=1', `?_HLS_msn=${last + 5}`, '?_HLS_msn=x', '?_HLS_skip=maybe']) {
      const r = await playlist('360p', q);
      expect(r.status).toBe(400);
      expect(r.ms).toBeLessThan(2000);
    }
  });

  it('gzips playlists for clients that ask', async () => {
    const r = await playlist('audio', '');
    const gz = await get(port, `/hls/${STREAM}/audio.m3u8`, { headers: { 'Accept-Encoding': 'gzip' } });
    expect(gz.headers['content-encoding']).toBe('gzip');
    expect(gunzipSync(gz.body).toString()).toMatch(/^#EXTM3U\n/);
    expect(gz.body.length).toBeLessThan(r.body.length);
  });

  it('answers 503 when the awaited part does not come (the encoder stopped)', async () => {
    await expect(fed).resolves.toBe('done');
    expect(ladder.stderr).toBe('');
    const p = checkMediaPlaylist(await settled('360p'), {
      rendition: '360p',
      renditions: NAMES,
    });
    const next = p.mediaSequence + p.segments.length;
    const r = await playlist('360p', `?_HLS_msn=${next}&_HLS_part=0`);
    expect(r.status).toBe(503);
    console.log(
      `503 after ${r.ms.toFixed(0)} ms (TARGETDURATION ${p.targetDuration}, PART-TARGET ${p.partTarget})`,
    );
    expect(r.ms).toBeGreaterThan(300);
  });

  it('answers held requests with the final playlist when the stream ends; EXT-X-ENDLIST everywhere', async () => {
    const p = checkMediaPlaylist(await settled('180p'), {
      rendition: '180p',
      renditions: NAMES,
    });
    const next = p.mediaSequence + p.segments.length;
    const held = playlist('180p', `?_HLS_msn=${next}&_HLS_part=0`);
    await sleep(100);
    await packager.end();
    const r = await held;
    expect(r.status).toBe(200);
    expect(r.ms).toBeLessThan(3000);
    checkMediaPlaylist(r.body.toString(), { rendition: '180p', renditions: NAMES, ended: true });
    for (const n of NAMES) {
      const live = await playlist(n);
      const pl = checkMediaPlaylist(live.body.toString(), {
        rendition: n,
        renditions: NAMES,
        ended: true,
        kind: kindOf(n),
      });
      // What the packager stored for plain GETs and the next worker says the same.
      const stored = (await storage.get(`${STREAM}/${n}.m3u8`))!.body.toString();
      const sp = checkMediaPlaylist(stored, {
        rendition: n,
        renditions: NAMES,
        ended: true,
        kind: kindOf(n),
      });
      expect(sp.segments.map((s) => s.uri)).toEqual(pl.segments.map((s) => s.uri));
      expect(pl.segments.length).toBe(7);
      // INDEPENDENT=YES exactly on the parts whose media starts with a keyframe.
      let map = pl.map!.uri;
      for (const s of pl.segments) {
        if (s.map) map = s.map.uri;
        for (const part of s.parts ?? []) {
          const sp2 = new Fmp4Splitter();
          sp2.push((await storage.get(`${STREAM}/${map}`))!.body);
          const f = sp2
            .push((await storage.get(`${STREAM}/${part.uri}`))!.body)
            .find((e) => e.type === 'fragment');
          expect(f?.type === 'fragment' && f.keyframe).toBe(part.independent === true);
        }
      }
    }
  });

  it('is playable: ffmpeg reads the ended stream over HTTP', async () => {
    const out = await new Promise<{ code: number | null; stderr: string }>((resolve, reject) => {
      const child = spawn(
        process.env.FFMPEG_PATH ?? 'ffmpeg',
        [
          '-v',
          'error',
          '-i',
          `http://127.0.0.1:${port}/hls/${STREAM}/index.m3u8`,
          '-map',
          '0',
          '-f',
          'null',
          '-',
        ],
        { stdio: ['ignore', 'ignore', 'pipe'] },
      );
      let stderr = '';
      child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stderr }));
    });
    expect(out.stderr).toBe('');
    expect(out.code).toBe(0);
  });
});
