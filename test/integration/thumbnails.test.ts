import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type { Job } from 'bullmq';
import type { Capabilities } from '../../src/core/capabilities.js';
import { AppError } from '../../src/core/errors.js';
import type { VodJobData, VodJobResult } from '../../src/core/jobs.js';
import { createLogger } from '../../src/core/log.js';
import { parsePreset } from '../../src/core/preset.js';
import { allSegments, lowestRung, runBytes } from '../../src/packager/thumbnails/source.js';
import { segmentsFor, type SpritePlan } from '../../src/packager/thumbnails/sprite.js';
import { fileThumbnailArgs, posterArgs } from '../../src/workers/ffmpeg/args-thumbnails.js';
import { runStill } from '../../src/workers/ffmpeg/still.js';
import { makeStreamPoster } from '../../src/workers/thumbnails.js';
import { runVodJob } from '../../src/workers/vod-job.js';
import { childProcesses } from '../helpers/children.js';
import { jpegSize } from '../helpers/jpeg.js';
import { makeTestClip } from '../helpers/media.js';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { MemoryStorage } from '../helpers/memory-storage.js';

const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
const run = promisify(execFile);

/** Mean luma of a region of a JPEG, decoded by ffmpeg: a picture, not a black tile. */
async function meanLuma(jpeg: Buffer, dir: string, crop: string): Promise<number> {
  const file = path.join(dir, `probe-${Date.now()}.jpg`);
  writeFileSync(file, jpeg);
  const { stdout } = await run(
    FFMPEG,
    ['-v', 'error', '-i', file, '-vf', `crop=${crop},format=gray`, '-f', 'rawvideo', 'pipe:1'],
    { encoding: 'buffer', maxBuffer: 1 << 22 },
  );
  return stdout.reduce((a, b) => a + b, 0) / stdout.length;
}
const log = createLogger('silent');

const PRESET = parsePreset({
  id: 'thumbs',
  name: 'Two rungs',
  ladder: [
    { width: 640, height: 360, fps: 30, videoBitrateKbps: 700 },
    { width: 426, height: 240, fps: 30, videoBitrateKbps: 300 },
  ],
  gopSeconds: 2,
  segmentSeconds: 4,
  encoders: { x264: { preset: 'ultrafast' } },
  hardware: { policy: 'never' },
});

const CAPS: Capabilities = {
  ffmpegPath: FFMPEG,
  ffmpegVersion: 'test',
  encoders: ['libx264'],
  hwaccels: [],
  filters: [],
  families: ['x264'],
  rejected: {},
  probedAt: new Date(0).toISOString(),
};

/** A file job as the worker runs it, on a job object that only records progress. */
async function packageFile(storage: MemoryStorage, input: string, assetId: string): Promise<VodJobResult> {
  const data: VodJobData = {
    kind: 'vod',
    assetId,
    presetId: PRESET.id,
    preset: PRESET,
    input: { path: input, deleteAfter: false, label: 'clip.mp4' },
    submittedAt: new Date().toISOString(),
  };
  const job = {
    data,
    updateProgress: async () => undefined,
    updateData: async () => undefined,
  } as unknown as Job<VodJobData, VodJobResult>;
  return runVodJob(job, new AbortController().signal, {
    ffmpegPath: FFMPEG,
    hwaccel: 'none',
    capabilities: CAPS,
    storage,
    log,
  });
}

describe('pictures of a packaged file, cut with real ffmpeg', () => {
  let dir: string;
  const storage = new MemoryStorage();
  let result: VodJobResult;

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'whipcast-thumbs-'));
    const clip = await makeTestClip(dir, { seconds: 8, width: 640, height: 360, fps: 30, audio: true });
    result = await packageFile(storage, clip, 'clip1');
  }, 60_000);

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('the job stores a poster, a sprite and a thumbnail track beside the playlists', () => {
    expect(storage.has('clip1/index.m3u8')).toBe(true);
    const poster = storage.objects.get('clip1/poster.jpg');
    const sprite = storage.objects.get('clip1/sprite.jpg');
    expect(poster?.contentType).toBe('image/jpeg');
    expect(sprite?.contentType).toBe('image/jpeg');
    // From the lowest rung (426x240), never scaled up.
    expect(jpegSize(poster!.body)).toEqual({ width: 426, height: 240 });
    // 8 s in 2 s GOPs: four tiles of 160x90 in one row.
    expect(jpegSize(sprite!.body)).toEqual({ width: 640, height: 90 });
    // The track is written last, so a player that finds it finds the sprite.
    const order = storage.puts.filter((k) => /\.(jpg|vtt)$/.test(k));
    expect(order[order.length - 1]).toBe('clip1/thumbnails.vtt');
  });

  it('the track has one cue per tile, covering the whole file', () => {
    expect(storage.objects.get('clip1/thumbnails.vtt')?.contentType).toBe('text/vtt');
    const vtt = storage.text('clip1/thumbnails.vtt');
    expect(vtt.startsWith('WEBVTT\n')).toBe(true);
    const cues = [...vtt.matchAll(/(\S+) --> (\S+)\n(\S+)/g)].map((m) => [m[1], m[2], m[3]]);
    expect(cues.map((c) => c[2])).toEqual([
      'sprite.jpg#xywh=0,0,160,90',
      'sprite.jpg#xywh=160,0,160,90',
      'sprite.jpg#xywh=320,0,160,90',
      'sprite.jpg#xywh=480,0,160,90',
    ]);
    expect(cues[0]?.[0]).toBe('00:00:00.000');
    const end = cues[cues.length - 1]?.[1] ?? '';
    expect(Number(end.slice(-6))).toBeCloseTo(result.durationMs / 1000, 2);
  });

  it('reads only the segments that hold a picture: a run with a gap in it still gives every tile', async () => {
    const clip = await makeTestClip(dir, { seconds: 12, width: 640, height: 360, fps: 30, audio: false });
    await packageFile(storage, clip, 'clip2');
    const rung = (await lowestRung(storage, 'clip2'))!;
    const [whole] = await allSegments(storage, 'clip2', rung);
    expect(whole?.segments).toHaveLength(3);
    // Tiles at 0 and 8 s: the first and the last of three 4 s segments, the middle one skipped.
    const plan: SpritePlan = { intervalS: 8, count: 2, columns: 2, rows: 1, tileWidth: 160, tileHeight: 90 };
    const keep = segmentsFor(plan, 8, whole!.durations);
    expect(keep).toEqual([0, 2]);
    const [poster, sprite] = await runStill({
      ffmpegPath: FFMPEG,
      args: fileThumbnailArgs(plan, 8, 2, 640),
      outputCount: 2,
      input: runBytes(storage, 'clip2', { ...whole!, segments: keep.map((i) => whole!.segments[i]!) }),
      timeoutMs: 20_000,
    });
    expect(jpegSize(poster!)).toEqual({ width: 426, height: 240 });
    expect(jpegSize(sprite!)).toEqual({ width: 320, height: 90 });
    // Both tiles hold a picture (testsrc2 is bright), the second from the segment after the gap.
    expect(await meanLuma(sprite!, dir, '160:90:0:0')).toBeGreaterThan(40);
    expect(await meanLuma(sprite!, dir, '160:90:160:0')).toBeGreaterThan(40);
  }, 60_000);

  it('a live-style poster comes from the newest segment, at most 320 px on its long side', async () => {
    const poster = await makeStreamPoster({ storage, ffmpegPath: FFMPEG, streamId: 'clip1', log });
    expect(jpegSize(poster!)).toEqual({ width: 320, height: 180 });
    // Nothing packaged under that id yet: no picture, and no error.
    expect(await makeStreamPoster({ storage, ffmpegPath: FFMPEG, streamId: 'none', log })).toBeNull();
  });

  it('a run that takes too long is killed at its timeout, and leaves no ffmpeg behind', async () => {
    // Input that never ends: ffmpeg waits for its first frame forever.
    async function* forever(): AsyncGenerator<Buffer> {
      yield storage.objects.get('clip1/240p_init.mp4')?.body ?? Buffer.alloc(0);
      await new Promise((r) => setTimeout(r, 60_000).unref());
    }
    const started = Date.now();
    const e = await runStill({
      ffmpegPath: FFMPEG,
      args: posterArgs(320),
      outputCount: 1,
      input: forever(),
      timeoutMs: 500,
    }).catch((err: unknown) => err);
    expect(e).toBeInstanceOf(AppError);
    expect((e as AppError).code).toBe('unavailable');
    expect(Date.now() - started).toBeLessThan(5000);
    expect(childProcesses('ffmpeg')).toEqual([]);
  });

  it('an aborted run is cancelled', async () => {
    async function* slow(): AsyncGenerator<Buffer> {
      await new Promise((r) => setTimeout(r, 60_000).unref());
      yield Buffer.alloc(0);
    }
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    const e = await runStill({
      ffmpegPath: FFMPEG,
      args: posterArgs(320),
      outputCount: 1,
      input: slow(),
      timeoutMs: 30_000,
      signal: abort.signal,
    }).catch((err: unknown) => err);
    expect((e as AppError).code).toBe('cancelled');
    expect(childProcesses('ffmpeg')).toEqual([]);
  });
});
