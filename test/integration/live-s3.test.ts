import { existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { LlhlsTracker } from '../helpers/llhls-check.js';
import { makeTestClip } from '../helpers/media.js';
import { S3RVER_CREDENTIALS, TestS3 } from '../helpers/s3rver.js';
import { waitFor } from '../helpers/service-process.js';
import { startTestService } from '../helpers/service.js';
import { WhipTestClient } from '../helpers/whip-client.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

const PREFIX = 'whipcast/';
const CREDENTIAL_VARS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY'] as const;

/**
 * STORAGE=s3 end to end: the service (credentials from the AWS environment variables, as in
 * production) packages a live stream and a file into s3rver; the origin serves both from
 * the bucket (live playlists from memory, parts and segments proxied from the bucket).
 */
describe('STORAGE=s3: WHIP in, LL-HLS out of the bucket', () => {
  let s3: TestS3;
  let t: Started;
  let client: WhipTestClient | null = null;
  const savedEnv: Partial<Record<(typeof CREDENTIAL_VARS)[number], string>> = {};

  beforeAll(async () => {
    s3 = await TestS3.start();
    for (const k of CREDENTIAL_VARS) savedEnv[k] = process.env[k];
    process.env.AWS_ACCESS_KEY_ID = S3RVER_CREDENTIALS.accessKeyId;
    process.env.AWS_SECRET_ACCESS_KEY = S3RVER_CREDENTIALS.secretAccessKey;
    t = await startTestService({
      STORAGE: 's3',
      S3_BUCKET: s3.bucket,
      S3_ENDPOINT: s3.endpoint,
      S3_PREFIX: PREFIX,
    });
  }, 30_000);

  afterAll(async () => {
    await client?.close();
    await t?.close();
    await s3?.close();
    for (const k of CREDENTIAL_VARS) {
      if (savedEnv[k] === undefined) delete process.env[k];
      else process.env[k] = savedEnv[k];
    }
  });

  it('serves a live stream whose parts and playlists are objects in the bucket', async () => {
    const base = t.service.url;
    client = await WhipTestClient.publish({ url: `${base}/whip/s3live?preset=light`, seconds: 7 });

    const master = await waitFor(
      'index.m3u8',
      async () => {
        const r = await fetch(`${base}/hls/s3live/index.m3u8`);
        return r.status === 200 ? r.text() : null;
      },
      30_000,
      100,
    );
    expect(master).toContain('360p.m3u8');

    // A few blocking reloads (answered from memory), then a listed part (proxied from the bucket).
    const tracker = new LlhlsTracker({
      rendition: '360p',
      renditions: ['360p', '240p', 'audio'],
      kind: 'video',
      ended: false,
    });
    let text = await (await fetch(`${base}/hls/s3live/360p.m3u8`)).text();
    let p = tracker.check(text);
    for (let i = 0; i < 4; i++) {
      const last = p.segments.length ? p.mediaSequence + p.segments.length : p.mediaSequence;
      const r = await fetch(
        `${base}/hls/s3live/360p.m3u8?_HLS_msn=${last}&_HLS_part=${p.trailingParts?.length ?? 0}`,
      );
      expect(r.status).toBe(200);
      text = await r.text();
      p = tracker.check(text);
    }
    const partUri = [...text.matchAll(/#EXT-X-PART:[^\n]*URI="([^"]+)"/g)].map((m) => m[1]!).at(-1);
    expect(partUri).toBeDefined();
    const part = await fetch(`${base}/hls/s3live/${partUri!}`);
    expect(part.status).toBe(200);
    expect(part.headers.get('content-type')).toBe('video/mp4');
    expect(part.headers.get('cache-control')).toBe('public, max-age=31536000, immutable');
    expect((await part.arrayBuffer()).byteLength).toBeGreaterThan(100);

    const keys = await s3.keys(`${PREFIX}s3live/`);
    const names = keys.map((k) => k.slice(`${PREFIX}s3live/`.length));
    expect(names).toEqual(
      expect.arrayContaining(['index.m3u8', '360p.m3u8', '240p.m3u8', 'audio.m3u8', partUri]),
    );
    expect(names.some((n) => /^360p_init_\d+\.mp4$/.test(n))).toBe(true);
    // Nothing went to the local disk.
    expect(existsSync(path.join(t.dir, 'data', 'hls'))).toBe(false);

    expect((await client.delete()).status).toBe(200);
    await waitFor(
      'EXT-X-ENDLIST in the bucket',
      async () => {
        const r = await t.service.storage.get('s3live/360p.m3u8');
        return r?.body.toString().includes('#EXT-X-ENDLIST') ?? false;
      },
      30_000,
      200,
    );
    const ended = await (await fetch(`${base}/hls/s3live/360p.m3u8`)).text();
    expect(ended).toContain('#EXT-X-ENDLIST');
  }, 120_000);

  it('packages a file into the bucket and the origin serves it', async () => {
    const base = t.service.url;
    const clip = await makeTestClip(path.join(t.dir, 'media'), {
      seconds: 2,
      width: 320,
      height: 180,
      fps: 30,
      audio: true,
    });
    const res = await fetch(`${base}/api/vod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: path.basename(clip), presetId: 'light', id: 's3vod' }),
    });
    expect(res.status).toBe(202);
    await waitFor(
      'the file job to complete',
      async () => {
        const j = (await (await fetch(`${base}/api/jobs/s3vod`)).json()) as {
          state: string;
          failedReason?: string;
        };
        if (j.state === 'failed') throw new Error(`job failed: ${j.failedReason}`);
        return j.state === 'completed';
      },
      90_000,
      300,
    );
    const master = await (await fetch(`${base}/hls/s3vod/index.m3u8`)).text();
    const variant = master.split('\n').find((l) => l && !l.startsWith('#'))!;
    const media = await (await fetch(`${base}/hls/s3vod/${variant}`)).text();
    expect(media).toContain('#EXT-X-ENDLIST');
    const seg = media.split('\n').find((l) => l && !l.startsWith('#'))!;
    const r = await fetch(`${base}/hls/s3vod/${seg}`);
    expect(r.status).toBe(200);
    expect(r.headers.get('content-type')).toBe('video/mp4');
    const keys = await s3.keys(`${PREFIX}s3vod/`);
    expect(keys).toEqual(expect.arrayContaining([`${PREFIX}s3vod/index.m3u8`, `${PREFIX}s3vod/${seg}`]));
  }, 120_000);
});
