import { afterAll, afterEach, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { AppError } from '../../src/core/errors.js';
import { parsePreset } from '../../src/core/preset.js';
import { buildFfmpegArgs } from '../../src/workers/ffmpeg/args.js';
import { FfmpegError, FfmpegProcess, type FfmpegProcessOptions } from '../../src/workers/ffmpeg/process.js';
import type { FfmpegProgress } from '../../src/workers/ffmpeg/progress.js';
import { makeTestClip } from '../helpers/media.js';

const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';

/** A source that runs until stopped: real-time test pattern, two small x264 outputs. */
const ENDLESS = [
  ...['-hide_banner', '-loglevel', 'warning', '-nostats', '-progress', 'pipe:1', '-stats_period', '0.1'],
  ...['-re', '-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30'],
  ...['-map', '0:v', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15'],
  ...['-f', 'mp4', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', 'pipe:3'],
  ...['-map', '0:v', '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '15', '-s', '160x90'],
  ...['-f', 'mp4', '-movflags', '+frag_keyframe+empty_moov+default_base_moof', 'pipe:4'],
];

/** The same flat out: with nobody reading, it fills its pipes within a moment. */
const FLAT_OUT = ENDLESS.filter((a) => a !== '-re');

/** Reads a stream to its end; resolves with its bytes even if it is destroyed. */
function collect(stream: Readable): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', () => undefined);
    stream.on('close', () => resolve(Buffer.concat(chunks)));
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('FfmpegProcess with real ffmpeg', () => {
  let dir: string;
  let clip: string;
  const started: FfmpegProcess[] = [];
  const start = (opts: FfmpegProcessOptions): FfmpegProcess => {
    const p = new FfmpegProcess(opts);
    started.push(p);
    return p;
  };

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'whipcast-ffmpeg-'));
    clip = await makeTestClip(dir, { seconds: 2, width: 320, height: 180, fps: 30, audio: true });
  });

  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  afterEach(async () => {
    await Promise.all(started.map((p) => p.close()));
    for (const p of started) {
      if (p.pid !== undefined) expect(alive(p.pid)).toBe(false);
    }
    started.length = 0;
  });

  it('runs a ladder to its end: bytes on every output pipe, progress events, exit 0', async () => {
    const preset = parsePreset({
      id: 'two',
      name: 'two',
      ladder: [
        { width: 320, height: 180, fps: 30, videoBitrateKbps: 400 },
        { width: 160, height: 90, fps: 15, videoBitrateKbps: 150 },
      ],
      encoders: { x264: { preset: 'ultrafast' } },
    });
    const args = buildFfmpegArgs(preset, 'x264', {
      input: clip,
      live: null,
      hasAudio: true,
      firstOutputFd: 3,
    });
    const progress: FfmpegProgress[] = [];
    const p = start({ bin: FFMPEG, args, outputCount: 3, onProgress: (e) => progress.push(e) });
    const [exit, ...outputs] = await Promise.all([p.wait(), ...p.outputs.map(collect)]);

    expect(exit).toEqual({ code: 0, signal: null });
    for (const out of outputs) {
      expect(out.length).toBeGreaterThan(1000);
      expect(out.subarray(4, 8).toString('latin1')).toBe('ftyp');
    }
    expect(progress.length).toBeGreaterThan(0);
    const last = progress[progress.length - 1];
    expect(last?.done).toBe(true);
    expect(last?.outTimeMs).toBeGreaterThanOrEqual(1900);
    expect(progress.filter((e) => e.done)).toHaveLength(1);
  });

  it('stop() ends ffmpeg gracefully with q, well within the timeout', async () => {
    const progress: FfmpegProgress[] = [];
    const p = start({
      bin: FFMPEG,
      args: ENDLESS,
      outputCount: 2,
      stopTimeoutMs: 5000,
      onProgress: (e) => progress.push(e),
    });
    const outputs = p.outputs.map(collect);
    await delay(1500);
    const t0 = Date.now();
    const exit = await p.stop();
    const took = Date.now() - t0;

    expect(exit).toEqual({ code: 0, signal: null });
    expect(took).toBeLessThan(3000);
    await expect(p.wait()).resolves.toEqual(exit);
    expect(progress[progress.length - 1]?.done).toBe(true);
    // A graceful end leaves whole outputs: each ends in a complete top-level box.
    for (const out of await Promise.all(outputs)) {
      expect(out.subarray(4, 8).toString('latin1')).toBe('ftyp');
      let at = 0;
      while (at + 8 <= out.length) at += out.readUInt32BE(at);
      expect(at).toBe(out.length);
    }
  });

  it('stop() kills with SIGKILL when ffmpeg cannot act on q in time', async () => {
    // Nobody reads the outputs: ffmpeg blocks writing to the full pipes and never sees q.
    const p = start({ bin: FFMPEG, args: FLAT_OUT, outputCount: 2, stopTimeoutMs: 500 });
    await delay(1500);
    const t0 = Date.now();
    const exit = await p.stop();
    expect(Date.now() - t0).toBeGreaterThanOrEqual(450);
    expect(exit).toEqual({ code: null, signal: 'SIGKILL' });
    await expect(p.wait()).resolves.toEqual(exit);
  });

  it('an AbortSignal ends ffmpeg and wait() reports cancelled', async () => {
    const ac = new AbortController();
    const p = start({ bin: FFMPEG, args: ENDLESS, outputCount: 2, signal: ac.signal });
    p.outputs.forEach((o) => o.resume());
    await delay(800);
    const pid = p.pid as number;
    ac.abort();
    await expect(p.wait()).rejects.toMatchObject({ code: 'cancelled' });
    expect(alive(pid)).toBe(false);
  });

  it('an already aborted signal starts nothing', async () => {
    const ac = new AbortController();
    ac.abort();
    const p = start({ bin: FFMPEG, args: ENDLESS, outputCount: 2, signal: ac.signal });
    expect(p.pid).toBeUndefined();
    await expect(p.wait()).rejects.toMatchObject({ code: 'cancelled' });
    expect(p.outputs).toHaveLength(2);
  });

  it('close() is idempotent: one promise, whoever calls', async () => {
    const p = start({ bin: FFMPEG, args: ENDLESS, outputCount: 2 });
    const pid = p.pid!;
    await delay(300);
    const a = p.close();
    const b = p.close();
    expect(a).toBe(b);
    const exit = await a;
    // Its outputs were destroyed first, so ffmpeg may end on a write error (exit 1) or
    // on `q` (0), or be killed: whichever, it ended, and wait() tells the same.
    expect(exit.code !== null || exit.signal !== null).toBe(true);
    expect(alive(pid)).toBe(false);
    await expect(p.wait()).resolves.toEqual(exit);
  });

  it('a bogus binary is a clear start failure, not a crash', async () => {
    const p = start({ bin: '/nonexistent/ffmpeg', args: ENDLESS, outputCount: 2 });
    expect(p.pid).toBeUndefined();
    const err: unknown = await p.wait().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FfmpegError);
    expect(err).toMatchObject({ code: 'ffmpeg_failed', phase: 'start' });
    expect((err as Error).message).toBe(
      'ffmpeg could not be started: "/nonexistent/ffmpeg" is not an executable file (set FFMPEG_PATH)',
    );
    // The outputs exist and end at once, so a pipeline on them does not hang.
    expect(await Promise.all(p.outputs.map(collect))).toEqual([Buffer.alloc(0), Buffer.alloc(0)]);
  });

  it('ffmpeg dying later is a run failure carrying the end of stderr', async () => {
    const args = buildFfmpegArgs(
      parsePreset({
        id: 'x',
        name: 'x',
        ladder: [{ width: 160, height: 90, fps: 15, videoBitrateKbps: 150 }],
      }),
      'x264',
      { input: path.join(dir, 'missing.mp4'), live: null, hasAudio: false, firstOutputFd: 3 },
    );
    const p = start({ bin: FFMPEG, args, outputCount: 1 });
    p.outputs.forEach((o) => o.resume());
    const err: unknown = await p.wait().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(FfmpegError);
    expect(err).toMatchObject({ code: 'ffmpeg_failed', phase: 'run', exit: { code: 1, signal: null } });
    expect((err as AppError).message).toMatch(
      /^ffmpeg exited with code 1: .*missing\.mp4: No such file or directory/s,
    );
  });

  it('a kill from outside is a run failure naming the signal', async () => {
    const p = start({ bin: FFMPEG, args: ENDLESS, outputCount: 2 });
    p.outputs.forEach((o) => o.resume());
    await delay(500);
    process.kill(p.pid as number, 'SIGKILL');
    await expect(p.wait()).rejects.toMatchObject({
      code: 'ffmpeg_failed',
      phase: 'run',
      message: 'ffmpeg exited with signal SIGKILL',
    });
  });
});
