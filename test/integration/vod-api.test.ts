import { mkdirSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { JobView } from '../../src/core/jobs.js';
import { makeTestClip } from '../helpers/media.js';
import { pidsMatching, waitFor } from '../helpers/service-process.js';
import { startTestService } from '../helpers/service.js';

type Started = Awaited<ReturnType<typeof startTestService>>;

async function jobOf(base: string, id: string): Promise<JobView> {
  return (await (await fetch(`${base}/api/jobs/${id}`)).json()) as JobView;
}

async function completed(base: string, id: string, timeoutMs = 90_000): Promise<JobView> {
  return waitFor(
    `job ${id} to complete`,
    async () => {
      const j = await jobOf(base, id);
      if (j.state === 'failed') throw new Error(`job failed: ${j.failedReason}`);
      return j.state === 'completed' ? j : null;
    },
    timeoutMs,
    300,
  );
}

describe('files end to end: POST /api/vod → worker → packager → origin', () => {
  let t: Started;
  let base: string;
  let clip: string;

  beforeAll(async () => {
    t = await startTestService();
    base = t.service.url;
    clip = await makeTestClip(path.join(t.dir, 'media'), {
      seconds: 6,
      width: 640,
      height: 360,
      fps: 30,
      audio: true,
    });
  }, 60_000);
  afterAll(async () => t?.close());

  it('transcodes an uploaded file into a playable VOD ladder', async () => {
    const form = new FormData();
    const bytes = (await import('node:fs')).readFileSync(clip);
    form.append('file', new Blob([bytes], { type: 'video/mp4' }), 'my clip.mp4');
    form.append('presetId', 'light');
    form.append('id', 'upload1');
    const res = await fetch(`${base}/api/vod`, { method: 'POST', body: form });
    expect(res.status).toBe(202);
    expect(res.headers.get('location')).toBe('/api/jobs/upload1');
    const queued = (await res.json()) as JobView;
    expect(queued).toMatchObject({ id: 'upload1', queue: 'vod', presetId: 'light', input: 'my clip.mp4' });

    const job = await completed(base, 'upload1');
    expect(job.progress?.percent).toBe(100);
    expect(job.result?.family).toBe('x264');

    const master = await fetch(`${base}/hls/upload1/index.m3u8`);
    expect(master.status).toBe(200);
    expect(master.headers.get('content-type')).toMatch(/application\/vnd\.apple\.mpegurl/);
    expect(master.headers.get('access-control-allow-origin')).toBe('*');
    const text = await master.text();
    expect(text).toMatch(/^#EXTM3U/);
    expect(text).toMatch(/#EXT-X-STREAM-INF:.*BANDWIDTH=\d+/);
    expect(text).toMatch(/AVERAGE-BANDWIDTH=\d+/);
    expect(text).toMatch(/CODECS="avc1\.[0-9a-f]{6},mp4a\.40\.2"/);
    expect(text).toMatch(/RESOLUTION=\d+x\d+/);
    expect(text).toMatch(/FRAME-RATE=30\.000/);
    expect(text).toMatch(/#EXT-X-MEDIA:TYPE=AUDIO/);

    const variantUri = text.split('\n').find((l) => l && !l.startsWith('#'));
    const media = await (await fetch(`${base}/hls/upload1/${variantUri}`)).text();
    expect(media).toContain('#EXT-X-PLAYLIST-TYPE:VOD');
    expect(media).toMatch(/#EXT-X-MAP:URI="[^"]+"/);
    expect(media).toContain('#EXT-X-ENDLIST');
    const seg = media.split('\n').find((l) => l && !l.startsWith('#'));
    const segRes = await fetch(`${base}/hls/upload1/${seg}`);
    expect(segRes.status).toBe(200);
    expect(segRes.headers.get('content-type')).toMatch(/mp4/);
    expect(segRes.headers.get('cache-control')).toMatch(/max-age/);

    // The upload was ours: deleted once packaged.
    expect(readdirSync(path.join(t.dir, 'data', 'uploads'))).toEqual([]);
  }, 120_000);

  it('transcodes a file named inside the media directory', async () => {
    const res = await fetch(`${base}/api/vod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: path.basename(clip), presetId: 'light', id: 'named1' }),
    });
    expect(res.status).toBe(202);
    await completed(base, 'named1');
    expect((await fetch(`${base}/hls/named1/index.m3u8`)).status).toBe(200);
  }, 120_000);

  describe('bad input changes nothing', () => {
    const post = (body: unknown, type = 'application/json') =>
      fetch(`${base}/api/vod`, {
        method: 'POST',
        headers: { 'content-type': type },
        body: typeof body === 'string' ? body : JSON.stringify(body),
      });

    async function expectRejected(res: Response, status: number, field?: string) {
      expect(res.status).toBe(status);
      const body = (await res.json()) as { error: { code: string; message: string; field?: string } };
      expect(typeof body.error.code).toBe('string');
      expect(body.error.message.length).toBeGreaterThan(0);
      if (field) expect(body.error.field).toBe(field);
    }

    it.each([
      [{ name: 'http://example.com/a.mp4' }, 'name'],
      [{ name: 'file:///etc/passwd' }, 'name'],
      [{ name: '../../etc/passwd' }, 'name'],
      [{ name: '/etc/passwd' }, 'name'],
      [{ name: 'missing.mp4' }, 'name'],
      [{}, 'name'],
      [{ name: 'x.mp4', extra: 1 }, 'extra'],
      [{ name: 'clip.mp4', presetId: 'NOPE' }, 'presetId'],
      [{ name: 'clip.mp4', id: '../x' }, 'id'],
    ])('rejects %j naming the field', async (body, field) => {
      const before = ((await (await fetch(`${base}/api/jobs`)).json()) as { jobs: unknown[] }).jobs.length;
      await expectRejected(await post(body), 400, field);
      const after = ((await (await fetch(`${base}/api/jobs`)).json()) as { jobs: unknown[] }).jobs.length;
      expect(after).toBe(before);
    });

    it('refuses a symlink that leads out of the media directory', async () => {
      symlinkSync('/etc/hostname', path.join(t.dir, 'media', 'escape.mp4'));
      await expectRejected(await post({ name: 'escape.mp4' }), 400, 'name');
    });

    it('answers an unknown preset with 400 naming presetId', async () => {
      await expectRejected(
        await post({ name: path.basename(clip), presetId: 'no-such-preset' }),
        400,
        'presetId',
      );
    });

    it('answers malformed JSON with 400 and a wrong content type with 415', async () => {
      await expectRejected(await post('{"name":', 'application/json'), 400);
      await expectRejected(await post('name=x', 'text/plain'), 415);
    });

    it('answers a duplicate id with 409', async () => {
      await expectRejected(await post({ name: path.basename(clip), id: 'named1' }), 409, 'id');
    });

    it('rejects a multipart request without a file and leaves no upload behind', async () => {
      const form = new FormData();
      form.append('presetId', 'light');
      await expectRejected(await fetch(`${base}/api/vod`, { method: 'POST', body: form }), 400, 'file');
      expect(readdirSync(path.join(t.dir, 'data', 'uploads'))).toEqual([]);
    });

    it('rejects an unknown preset in a multipart upload and deletes the upload', async () => {
      const form = new FormData();
      form.append('presetId', 'nope');
      form.append('file', new Blob([Buffer.alloc(1000)]), 'a.mp4');
      const res = await fetch(`${base}/api/vod`, { method: 'POST', body: form });
      expect(res.status).toBeGreaterThanOrEqual(400);
      expect(readdirSync(path.join(t.dir, 'data', 'uploads'))).toEqual([]);
    });
  });

  it('cancels a running job: the cancel reaches ffmpeg', async () => {
    const long = await makeTestClip(path.join(t.dir, 'media'), {
      seconds: 15,
      width: 1280,
      height: 720,
      fps: 30,
      audio: true,
      name: 'long.mp4',
    });
    const res = await fetch(`${base}/api/vod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'long.mp4', presetId: 'default', id: 'tocancel' }),
    });
    expect(res.status).toBe(202);
    await waitFor('ffmpeg to run', async () => pidsMatching(long).length > 0, 30_000);
    const del = await fetch(`${base}/api/jobs/tocancel`, { method: 'DELETE' });
    expect([200, 202]).toContain(del.status);
    const j = await waitFor(
      'the job to be cancelled',
      async () => {
        const v = await jobOf(base, 'tocancel');
        return v.state === 'cancelled' ? v : null;
      },
      15_000,
    );
    expect(j.failedReason).toBe('cancelled by request');
    await waitFor('ffmpeg to exit', async () => pidsMatching(long).length === 0, 10_000);
    // Cancelling it again is a conflict, not a second cancel.
    expect((await fetch(`${base}/api/jobs/tocancel`, { method: 'DELETE' })).status).toBe(409);
  }, 90_000);

  it('refuses a job whose preset requires hardware no worker has, with the reason (422)', async () => {
    const light = (await (await fetch(`${base}/api/presets/light`)).json()) as {
      preset: Record<string, unknown>;
    };
    const preset = {
      ...light.preset,
      id: 'needs-nvenc',
      name: 'Needs NVENC',
      hardware: { policy: 'require', family: 'nvenc' },
    };
    const created = await fetch(`${base}/api/presets`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(preset),
    });
    expect(created.status).toBe(201);
    const res = await fetch(`${base}/api/vod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: path.basename(clip), presetId: 'needs-nvenc', id: 'hwjob' }),
    });
    // Such a job would wait in the vod-nvenc queue, which only workers that proved NVENC take.
    expect(res.status).toBe(422);
    const body = (await res.json()) as { error: { code: string; message: string } };
    expect(body.error.code).toBe('hardware_unavailable');
    expect(body.error.message).toMatch(/nvenc/i);
    expect((await fetch(`${base}/api/jobs/hwjob`)).status).toBe(404);
  }, 60_000);

  it('cancels a queued job before it starts', async () => {
    mkdirSync(path.join(t.dir, 'media'), { recursive: true });
    writeFileSync(path.join(t.dir, 'media', 'q.mp4'), 'not really a video');
    // Keep the single worker busy so the next job waits.
    const long = await fetch(`${base}/api/vod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'long.mp4', presetId: 'default', id: 'busy' }),
    });
    expect(long.status).toBe(202);
    const queued = await fetch(`${base}/api/vod`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'q.mp4', id: 'queued1' }),
    });
    expect(queued.status).toBe(202);
    const del = await fetch(`${base}/api/jobs/queued1`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect(((await del.json()) as JobView).state).toBe('cancelled');
    expect((await jobOf(base, 'queued1')).state).toBe('cancelled');
    await fetch(`${base}/api/jobs/busy`, { method: 'DELETE' });
  }, 60_000);
});
