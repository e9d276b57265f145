import { readFileSync } from 'node:fs';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { pino } from 'pino';
import { ApiMetrics } from '../../src/api/metrics.js';
import { AppError } from '../../src/core/errors.js';
import type { JobsApi } from '../../src/workers/index.js';
import { LocalLiveBus } from '../../src/packager/live/bus.js';
import { createLivePackagerFactory } from '../../src/packager/live/packager.js';
import type { RenditionSpec } from '../../src/packager/rendition.js';
import { S3Storage, type S3StorageOptions } from '../../src/packager/storage/s3.js';
import { S3Proxy, S3RVER_CREDENTIALS, TestS3 } from '../helpers/s3rver.js';

const silent = pino({ level: 'silent' });
const fast = { attempts: 4, baseDelayMs: 20, maxDelayMs: 200 };

/** pino lines as objects, to check what was logged. */
function capture(): { log: pino.Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const sink = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(JSON.parse(chunk.toString()) as { level: number; msg: string });
      cb();
    },
  });
  return { log: pino({ level: 'warn' }, sink), lines };
}

describe('S3Storage against s3rver', () => {
  let s3: TestS3;
  let proxy: S3Proxy;
  const opened: S3Storage[] = [];

  const storage = (o: Partial<S3StorageOptions> = {}): S3Storage => {
    const st = new S3Storage({
      bucket: s3.bucket,
      prefix: 'pre/fix/',
      region: 'us-east-1',
      endpoint: s3.endpoint,
      credentials: S3RVER_CREDENTIALS,
      log: silent,
      retry: fast,
      ...o,
    });
    opened.push(st);
    return st;
  };

  beforeAll(async () => {
    s3 = await TestS3.start();
    proxy = await S3Proxy.start(s3);
  });
  afterEach(async () => {
    await Promise.all(opened.splice(0).map((s) => s.close()));
    proxy.release();
    proxy.delayPuts(() => 0);
  });
  afterAll(async () => {
    await proxy?.close();
    await s3?.close();
  });

  it('puts, gets, deletes under the prefix, with content type and cache control', async () => {
    const st = storage();
    await st.put('cam1/720p_init_1.mp4', Buffer.from('init'), 'video/mp4');
    await st.put('cam1/720p_3.1.m4s', Buffer.from('part'), 'video/mp4');
    await st.put('cam1/720p.m3u8', Buffer.from('#EXTM3U\n'), 'application/vnd.apple.mpegurl');

    const got = await st.get('cam1/720p_3.1.m4s');
    expect(got?.body.toString()).toBe('part');
    expect(got?.contentType).toBe('video/mp4');
    expect(got?.modified).toBeInstanceOf(Date);
    expect((await st.get('cam1/720p.m3u8'))?.contentType).toBe('application/vnd.apple.mpegurl');
    expect(await st.get('cam1/missing.m4s')).toBeNull();
    expect(await st.get('nobody/720p.m3u8')).toBeNull();

    expect(await s3.keys('pre/fix/cam1/')).toEqual([
      'pre/fix/cam1/720p.m3u8',
      'pre/fix/cam1/720p_3.1.m4s',
      'pre/fix/cam1/720p_init_1.mp4',
    ]);
    const c = s3.client();
    try {
      const head = (name: string) =>
        c.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: `pre/fix/cam1/${name}` }));
      expect((await head('720p_3.1.m4s')).CacheControl).toBe('public, max-age=31536000, immutable');
      expect((await head('720p_init_1.mp4')).CacheControl).toBe('public, max-age=31536000, immutable');
      const pl = await head('720p.m3u8');
      expect(pl.CacheControl).toBe('no-cache');
      expect(pl.ContentType).toBe('application/vnd.apple.mpegurl');
    } finally {
      c.destroy();
    }

    await st.delete('cam1/720p_3.1.m4s');
    expect(await st.get('cam1/720p_3.1.m4s')).toBeNull();
    await st.delete('cam1/720p_3.1.m4s'); // gone already: not an error
    await st.delete('../etc/passwd'); // not a key: nothing to do
  });

  it('deleteAsset removes every object of the asset and nothing of another', async () => {
    const st = storage();
    const names = Array.from({ length: 25 }, (_, i) => `v_${i}.m4s`);
    await Promise.all(names.map((n) => st.put(`gone/${n}`, Buffer.from(n), 'video/mp4')));
    await st.put('gone0/keep.m4s', Buffer.from('x'), 'video/mp4');
    expect(await s3.keys('pre/fix/gone/')).toHaveLength(25);
    await st.deleteAsset('gone');
    expect(await s3.keys('pre/fix/gone/')).toEqual([]);
    expect(await s3.keys('pre/fix/gone0/')).toEqual(['pre/fix/gone0/keep.m4s']);
    await st.deleteAsset('never-written');
    await expect(st.deleteAsset('../x')).rejects.toMatchObject({ code: 'bad_request' });
  });

  it('refuses bad keys before any request: nothing is written', async () => {
    const st = storage({ prefix: 'badkeys/' });
    for (const key of [
      '../x/a.m4s',
      'cam1/../a.m4s',
      'cam1/a/b.m4s',
      'cam1/.hidden',
      'cam1',
      '/cam1/a.m4s',
      'Cam 1/a.m4s',
    ]) {
      await expect(st.put(key, Buffer.from('x'), 'video/mp4')).rejects.toBeInstanceOf(AppError);
      expect(await st.get(key)).toBeNull();
    }
    expect(await s3.keys('badkeys/')).toEqual([]);
  });

  it('retries 503s and reset connections with backoff; counts retries', async () => {
    const st = storage({ endpoint: proxy.endpoint });
    proxy.failNext(2, 503);
    await st.put('retry1/a.m4s', Buffer.from('a'), 'video/mp4');
    proxy.failNext(1, 'reset');
    await st.put('retry1/b.m4s', Buffer.from('b'), 'video/mp4');
    expect(st.stats()).toMatchObject({ retries: 3, uploaded: 2, uploadFailures: 0 });
    expect(await s3.keys('pre/fix/retry1/')).toEqual(['pre/fix/retry1/a.m4s', 'pre/fix/retry1/b.m4s']);

    // The figures /metrics shows (an idle queue: only the storage gauges matter here).
    const idle = { ping: async () => false, counts: async () => ({}), list: async () => [] };
    const metrics = new ApiMetrics(
      idle as unknown as JobsApi,
      () => [],
      () => st.stats(),
    );
    const text = await metrics.registry.metrics();
    expect(text).toMatch(/^whipcast_storage_upload_retries_total 3$/m);
    expect(text).toMatch(/^whipcast_storage_upload_failures_total 0$/m);
    expect(text).toMatch(/^whipcast_storage_backlog_bytes 0$/m);
    expect(text).toMatch(/^whipcast_storage_backlog_objects 0$/m);
  });

  it('gives up after the attempt limit, and at once on a permanent error', async () => {
    const st = storage({ endpoint: proxy.endpoint });
    proxy.failNext(fast.attempts, 503);
    await expect(st.put('fail1/a.m4s', Buffer.from('a'), 'video/mp4')).rejects.toMatchObject({
      code: 'unavailable',
    });
    expect(st.stats()).toMatchObject({ retries: fast.attempts - 1, uploadFailures: 1 });
    proxy.failNext(1, 403);
    await expect(st.put('fail1/b.m4s', Buffer.from('b'), 'video/mp4')).rejects.toMatchObject({
      code: 'unavailable',
    });
    expect(st.stats()).toMatchObject({ retries: fast.attempts - 1, uploadFailures: 2, backlogObjects: 0 });
    expect(await s3.keys('pre/fix/fail1/')).toEqual([]);
  });

  it('a put that begins while S3 is down succeeds once it is back on the same port', async () => {
    const st = storage({ retry: { attempts: 8, baseDelayMs: 50, maxDelayMs: 300 } });
    await s3.stop();
    const put = st.put('down1/a.m4s', Buffer.from('a'), 'video/mp4');
    await new Promise((r) => setTimeout(r, 250));
    expect(st.stats()).toMatchObject({ backlogObjects: 1 });
    expect(st.stats().retries).toBeGreaterThan(0);
    await s3.start();
    await put;
    expect((await st.get('down1/a.m4s'))?.body.toString()).toBe('a');
  });

  it('bounds the backlog: writes wait for room, one warning, nothing dropped', async () => {
    const { log, lines } = capture();
    const st = storage({
      endpoint: proxy.endpoint,
      log,
      backlogObjects: 2,
      backlogBytes: 1024 * 1024,
      concurrency: 2,
    });
    proxy.hold();
    const done: number[] = [];
    const puts = Array.from({ length: 6 }, (_, i) =>
      st.put(`slow1/p_${i}.m4s`, Buffer.alloc(1000, i), 'video/mp4').then(() => done.push(i)),
    );
    for (let i = 0; i < 100 && proxy.heldCount < 2; i++) await new Promise((r) => setTimeout(r, 20));
    expect(proxy.heldCount).toBe(2);
    expect(st.stats()).toMatchObject({ backlogObjects: 2, backlogBytes: 2000, waiting: 4, uploading: 2 });
    expect(done).toEqual([]);
    const warns = lines.filter((l) => l.level === 40);
    expect(warns).toHaveLength(1);
    expect(warns[0]?.msg).toMatch(/backlog full: writes wait/);
    proxy.release();
    await Promise.all(puts);
    expect(done.sort()).toEqual([0, 1, 2, 3, 4, 5]);
    expect(await s3.keys('pre/fix/slow1/')).toHaveLength(6);
    expect(st.stats()).toMatchObject({ backlogObjects: 0, backlogBytes: 0, waiting: 0, uploaded: 6 });
  });

  it('close() waits for uploads under way, then refuses new ones', async () => {
    const st = storage({ endpoint: proxy.endpoint });
    proxy.delayPuts(() => 150);
    const put = st.put('close1/a.m4s', Buffer.from('a'), 'video/mp4');
    await new Promise((r) => setTimeout(r, 20));
    await st.close();
    await put;
    expect(await s3.keys('pre/fix/close1/')).toEqual(['pre/fix/close1/a.m4s']);
    await expect(st.put('close1/b.m4s', Buffer.from('b'), 'video/mp4')).rejects.toMatchObject({
      code: 'unavailable',
    });
  });

  describe('the live packager on a slow S3', () => {
    const fixture = (name: string): Buffer =>
      readFileSync(new URL(`../../../test/fixtures/fmp4/${name}`, import.meta.url));
    const specs: RenditionSpec[] = [
      { name: '90p', kind: 'video', width: 160, height: 90, fps: 30, nominalBitrateKbps: 40 },
      { name: 'audio', kind: 'audio', nominalBitrateKbps: 24 },
    ];
    const chunks = (data: Buffer, size = 4096): Readable =>
      Readable.from(
        (function* () {
          for (let i = 0; i < data.length; i += size) yield data.subarray(i, i + size);
        })(),
      );

    /** URIs a playlist lists (not the preload hint, which names a part still to come). */
    function listed(text: string): string[] {
      const out: string[] = [];
      for (const line of text.split('\n')) {
        if (line.startsWith('#EXT-X-MAP:') || line.startsWith('#EXT-X-PART:')) {
          const m = /URI="([^"]+)"/.exec(line);
          if (m) out.push(m[1]!);
        } else if (line && !line.startsWith('#')) {
          out.push(line.trim());
        }
      }
      return out;
    }

    it('stores a playlist only after every part and segment it lists is in the bucket', async () => {
      const st = storage({ endpoint: proxy.endpoint, prefix: 'order/' });
      // Parts and segments arrive late and out of order, as from a struggling S3.
      proxy.delayPuts((key) => (key.endsWith('.m3u8') ? 0 : 5 + Math.floor(Math.random() * 40)));
      const bus = new LocalLiveBus();
      const factory = createLivePackagerFactory({ storage: st, bus });
      const p = factory({
        streamId: 'ord1',
        renditions: specs,
        partSeconds: 1 / 3,
        segmentSeconds: 1,
        log: silent,
      });
      const run = p.startRun(Date.now());
      await Promise.all([
        pipeline(chunks(fixture('h264.mp4')), run.writable('90p')),
        pipeline(chunks(fixture('aac.mp4')), run.writable('audio')),
      ]);
      await p.end();
      await p.close();
      await bus.close();

      const log = proxy.log.filter((r) => r.key.startsWith('order/ord1/'));
      const stored = new Map<string, number>();
      for (const r of log) {
        if (r.method !== 'PUT' || r.status !== 200) continue;
        const name = r.key.slice('order/ord1/'.length);
        stored.set(name, Math.min(stored.get(name) ?? Infinity, r.endedAt));
      }
      const playlistPuts = log.filter((r) => r.method === 'PUT' && r.key.endsWith('.m3u8'));
      expect(playlistPuts.length).toBeGreaterThan(5);
      let checked = 0;
      for (const pl of playlistPuts) {
        for (const uri of listed(pl.body ?? '')) {
          if (uri.endsWith('.m3u8')) continue; // index.m3u8 names media playlists
          const at = stored.get(uri);
          expect({ playlist: pl.key, uri, stored: at !== undefined && at <= pl.startedAt }).toEqual({
            playlist: pl.key,
            uri,
            stored: true,
          });
          checked++;
        }
      }
      expect(checked).toBeGreaterThan(20);
      expect((await st.get('ord1/90p.m3u8'))?.body.toString()).toContain('#EXT-X-ENDLIST');
    });
  });
});
