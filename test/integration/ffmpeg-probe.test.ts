import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { probeCapabilities, probeInput } from '../../src/workers/ffmpeg/probe.js';
import { makeTestClip } from '../helpers/media.js';

const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';

describe('probeCapabilities with real ffmpeg (no GPU on this machine)', () => {
  it('proves x264 only and says why each hardware family failed', async () => {
    const caps = await probeCapabilities(FFMPEG, 'auto');
    expect(caps.ffmpegVersion).toMatch(/^\d+\.\d+/);
    expect(caps.families).toEqual(['x264']);
    expect(caps.encoders).toEqual(expect.arrayContaining(['libx264', 'aac', 'h264_nvenc']));
    expect(caps.hwaccels).toEqual(expect.arrayContaining(['cuda', 'vaapi']));
    expect(caps.filters).toEqual(expect.arrayContaining(['split', 'scale', 'fps']));
    expect(Object.keys(caps.rejected).sort()).toEqual(['nvenc', 'qsv', 'vaapi']);
    for (const why of Object.values(caps.rejected)) {
      // The first stderr line of the test encode, without ffmpeg's "[AVHWDeviceContext @ 0x...]".
      expect(why).toMatch(/\S/);
      expect(why).not.toMatch(/ @ 0x/);
    }
    expect(caps.rejected.nvenc).toMatch(/cuda/i);
    expect(Date.parse(caps.probedAt)).not.toBeNaN();
  });

  it('tries no hardware with HWACCEL=none, and only the named family otherwise', async () => {
    const none = await probeCapabilities(FFMPEG, 'none');
    expect(none.families).toEqual(['x264']);
    expect(none.rejected).toEqual({
      nvenc: 'not tried: HWACCEL=none',
      vaapi: 'not tried: HWACCEL=none',
      qsv: 'not tried: HWACCEL=none',
    });
    const vaapi = await probeCapabilities(FFMPEG, 'vaapi', undefined, { vaapiDevice: '/dev/dri/renderD199' });
    expect(vaapi.rejected.nvenc).toBe('not tried: HWACCEL=vaapi');
    expect(vaapi.rejected.vaapi).toMatch(/renderD199/);
  });

  it('reports a missing ffmpeg without throwing', async () => {
    const caps = await probeCapabilities('/nonexistent/ffmpeg', 'auto');
    expect(caps).toMatchObject({ ffmpegVersion: null, families: [], encoders: [] });
    expect(caps.rejected.x264).toMatch(/could not be run/);
  });
});

describe('probeInput with real ffmpeg', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'whipcast-probe-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reads a generated clip with audio', async () => {
    const clip = await makeTestClip(dir, { seconds: 2, width: 320, height: 240, fps: 25, audio: true });
    const info = await probeInput(FFMPEG, clip);
    expect(info).toMatchObject({
      hasVideo: true,
      hasAudio: true,
      width: 320,
      height: 240,
      videoCodec: 'h264',
    });
    expect(info.durationMs).toBeGreaterThanOrEqual(1950);
    expect(info.durationMs).toBeLessThanOrEqual(2100);
  });

  it('reads a clip without audio', async () => {
    const clip = await makeTestClip(dir, { seconds: 1, width: 160, height: 90, fps: 30, audio: false });
    expect(await probeInput(FFMPEG, clip)).toMatchObject({ hasVideo: true, hasAudio: false, width: 160 });
  });

  it('refuses what is not media, without naming the worker directories', async () => {
    const junk = path.join(dir, 'junk.mp4');
    await writeFile(junk, 'not a video');
    await expect(probeInput(FFMPEG, junk)).rejects.toMatchObject({ code: 'validation_failed' });
    const err = (await probeInput(FFMPEG, path.join(dir, 'missing.mp4')).catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ code: 'validation_failed' });
    expect(err.message).toBe('missing.mp4 is not readable media: missing.mp4: No such file or directory');
  });

  it('does not follow a playlist disguised as a video file', async () => {
    const clip = await makeTestClip(dir, { seconds: 1, width: 160, height: 90, fps: 30, audio: false });
    const evil = path.join(dir, 'evil.mp4');
    await writeFile(evil, `#EXTM3U\n#EXT-X-TARGETDURATION:1\n#EXTINF:1,\nfile://${clip}\n#EXT-X-ENDLIST\n`);
    const err = (await probeInput(FFMPEG, evil).catch((e: unknown) => e)) as Error;
    expect(err).toMatchObject({ code: 'validation_failed' });
    expect(err.message).toMatch(/not on whitelist/);
  });

  it('says ffmpeg is unavailable when it cannot be run', async () => {
    await expect(probeInput('/nonexistent/ffmpeg', '/tmp/x.mp4')).rejects.toMatchObject({
      code: 'unavailable',
    });
  });
});
