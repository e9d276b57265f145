import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import type { Readable } from 'node:stream';
import { parsePreset, type Preset } from '../../src/core/preset.js';
import { BoxCursor, boxes, findChild, type Box } from '../../src/packager/mp4/boxes.js';
import { parseMoof } from '../../src/packager/mp4/fragment.js';
import { parseMoov, type TrackInfo } from '../../src/packager/mp4/init.js';
import { buildFfmpegArgs } from '../../src/workers/ffmpeg/args.js';
import { capture } from '../../src/workers/ffmpeg/capture.js';
import { FfmpegError, FfmpegProcess } from '../../src/workers/ffmpeg/process.js';
import { makeTestClip } from '../helpers/media.js';

const FFMPEG = process.env.FFMPEG_PATH ?? 'ffmpeg';
/** What ffmpeg says when an option name or value is wrong, as opposed to a missing device. */
const OPTION_ERROR =
  /Unrecognized option|Option not found|Option '?\S+'? not found|Unable to parse option|Error setting option/;

function collect(stream: Readable): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    stream.on('data', (c: Buffer) => chunks.push(c));
    stream.on('error', reject);
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

interface Walked {
  layout: string;
  /** Largest trun sample_composition_time_offset: 0 means presentation time = decode time. */
  maxCtsOffset: number;
  track: TrackInfo;
  /** Per fragment, in seconds. */
  fragments: Array<{ start: number; duration: number; keyframe: boolean }>;
}

/** Reads a rendition stream with the packager's own box parser. */
function walk(buf: Buffer): Walked {
  const top = [...boxes(buf)];
  const moov = top.find((b) => b.type === 'moov');
  if (!moov) throw new Error('no moov');
  const track = parseMoov(moov);
  const fragments = top
    .filter((b) => b.type === 'moof')
    .map((moof) => {
      const f = parseMoof(moof, track);
      return {
        start: (f.decodeTime ?? NaN) / track.timescale,
        duration: f.duration / track.timescale,
        keyframe: f.keyframe,
      };
    });
  const maxCtsOffset = Math.max(0, ...top.filter((b) => b.type === 'moof').flatMap(ctsOffsets));
  return { layout: top.map((b) => b.type).join(' '), track, maxCtsOffset, fragments };
}

/** The composition offsets of a moof's first trun (ISO 14496-12 8.8.8), absolute values. */
function ctsOffsets(moof: Box): number[] {
  const traf = findChild(moof, 'traf');
  const trun = traf && findChild(traf, 'trun');
  if (!trun) return [];
  const c = new BoxCursor(trun);
  const { flags } = c.fullHeader();
  const count = c.u32();
  if (flags & 0x1) c.skip(4);
  if (flags & 0x4) c.skip(4);
  const out: number[] = [];
  for (let i = 0; i < count; i++) {
    if (flags & 0x100) c.skip(4);
    if (flags & 0x200) c.skip(4);
    if (flags & 0x400) c.skip(4);
    if (flags & 0x800) out.push(Math.abs(c.i32()));
  }
  return out;
}

async function runLadder(preset: Preset, input: string): Promise<Walked[]> {
  const args = buildFfmpegArgs(preset, 'x264', { input, live: null, hasAudio: true, firstOutputFd: 3 });
  const p = new FfmpegProcess({ bin: FFMPEG, args, outputCount: preset.ladder.length + 1 });
  const [, ...outputs] = await Promise.all([p.wait(), ...p.outputs.map(collect)]);
  return outputs.map(walk);
}

describe('buildFfmpegArgs output with real ffmpeg', () => {
  let dir: string;
  let clip: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'whipcast-args-'));
    clip = await makeTestClip(dir, { seconds: 4, width: 640, height: 360, fps: 30, audio: true });
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('x264: one fMP4 stream per rendition, part-sized fragments, keyframes aligned across rungs', async () => {
    const preset = parsePreset({
      id: 'two',
      name: 'two',
      ladder: [
        { width: 640, height: 360, fps: 30, videoBitrateKbps: 600, profile: 'high' },
        { width: 320, height: 180, fps: 15, videoBitrateKbps: 200, codec: 'h264', profile: 'baseline' },
      ],
      gopSeconds: 1,
      segmentSeconds: 2,
      partSeconds: 0.5,
      // veryfast would use B-frames; the high profile rung next to a baseline one shows
      // whether presentation times stay aligned.
      encoders: { x264: { preset: 'veryfast' } },
    });
    const [hi, lo, audio] = await runLadder(preset, clip);
    if (!hi || !lo || !audio) throw new Error('missing output');

    for (const r of [hi, lo, audio]) expect(r.layout).toMatch(/^ftyp moov( moof mdat)+$/);
    expect(hi.track).toMatchObject({ kind: 'video', width: 640, height: 360 });
    expect(lo.track).toMatchObject({ kind: 'video', width: 320, height: 180 });
    expect(audio.track).toMatchObject({ kind: 'audio', sampleRate: 48000, channels: 2 });
    expect(audio.track.codec).toMatch(/^mp4a\.40\./);

    // ffmpeg cuts a fragment at the first frame that brings it to partSeconds or more, and
    // at every keyframe: at 15 fps a 0.5 s part is 8 frames, then 7 up to the keyframe.
    const frames = (r: Walked, fps: number) => r.fragments.map((f) => Math.round(f.duration * fps));
    expect(frames(hi, 30)).toEqual([15, 15, 15, 15, 15, 15, 15, 15]);
    expect(frames(lo, 15)).toEqual([8, 7, 8, 7, 8, 7, 8, 7]);
    // Keyframes once a second in both rungs, at the same media times.
    for (const r of [hi, lo])
      expect(r.fragments.filter((f) => f.keyframe).map((f) => f.start)).toEqual([0, 1, 2, 3]);
    // Audio fragments are cut by duration alone: 24 AAC frames of 1024 samples at 48 kHz.
    expect(audio.fragments[0]?.duration).toBeCloseTo(0.512, 3);
  });

  it('starts every rendition at the same instant when the input streams do not', async () => {
    // Audio that begins 0.5 s after the video: each rendition's MP4 timeline starts at its
    // first packet, so without padding the audio would play 0.5 s early.
    const late = path.join(dir, 'late-audio.ts');
    const made = await capture(
      FFMPEG,
      [
        ...['-hide_banner', '-nostdin', '-loglevel', 'error', '-y'],
        ...['-f', 'lavfi', '-i', 'testsrc2=size=320x180:rate=30:duration=4'],
        ...['-itsoffset', '0.5', '-f', 'lavfi', '-i', 'sine=frequency=1000:duration=3.5'],
        ...['-map', '0:v', '-map', '1:a', '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac', late],
      ],
      { timeoutMs: 20_000 },
    );
    expect(made.code).toBe(0);
    const preset = parsePreset({
      id: 'one',
      name: 'one',
      ladder: [{ width: 320, height: 180, fps: 30, videoBitrateKbps: 300 }],
      encoders: { x264: { preset: 'ultrafast' } },
    });
    const [video, audio] = await runLadder(preset, late);
    if (!video || !audio) throw new Error('missing output');
    const end = (r: Walked) => r.fragments.reduce((t, f) => Math.max(t, f.start + f.duration), 0);
    expect(audio.fragments[0]?.start).toBe(0);
    expect(end(video)).toBeCloseTo(4, 1);
    // Padded with 0.5 s of silence in front: it ends with the video, not 0.5 s before it.
    expect(end(audio)).toBeGreaterThan(3.95);
  });

  it.each(['nvenc', 'vaapi', 'qsv'] as const)(
    '%s: the whole argument list parses, and fails only for want of the device',
    async (family) => {
      const preset = parsePreset({
        id: 'hw',
        name: 'hw',
        ladder: [
          { width: 640, height: 360, fps: 30, videoBitrateKbps: 600, profile: 'high' },
          { width: 320, height: 180, fps: 30, videoBitrateKbps: 200, codec: 'hevc' },
        ],
      });
      const args = buildFfmpegArgs(preset, family, {
        input: clip,
        live: null,
        hasAudio: true,
        firstOutputFd: 3,
      });
      const p = new FfmpegProcess({ bin: FFMPEG, args, outputCount: 3 });
      p.outputs.forEach((o) => o.resume());
      const err = await p.wait().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FfmpegError);
      const tail = (err as FfmpegError).stderrTail;
      expect(tail).toMatch(/Device creation failed|No device available/);
      expect(tail).not.toMatch(OPTION_ERROR);

      // The encoder options on their own, fed from a software source: nvenc and qsv parse
      // every private option before they look for a device (vaapi stops earlier, at format
      // negotiation, so for it this only checks the option names).
      for (const rung of [0, 1]) {
        const from = args.indexOf(`[v${rung}]`) + 1;
        const encoder = args.slice(from, args.indexOf('-map_metadata', from));
        const r = await capture(
          FFMPEG,
          [
            ...['-hide_banner', '-nostdin', '-loglevel', 'error'],
            ...['-f', 'lavfi', '-i', 'color=black:s=256x144:d=0.1', ...encoder, '-f', 'null', '-'],
          ],
          { timeoutMs: 10_000 },
        );
        expect(r.code).not.toBe(0);
        expect(r.stderr).not.toMatch(OPTION_ERROR);
      }
    },
  );

  it('the option check has teeth: a misspelt option is caught', async () => {
    const r = await capture(
      FFMPEG,
      [
        '-hide_banner',
        '-nostdin',
        '-f',
        'lavfi',
        '-i',
        'color=d=0.1',
        '-c:v',
        'h264_nvenc',
        '-forced-idrx',
        '1',
        '-f',
        'null',
        '-',
      ],
      { timeoutMs: 10_000 },
    );
    expect(r.stderr).toMatch(OPTION_ERROR);
    const bad = await capture(
      FFMPEG,
      [
        '-hide_banner',
        '-nostdin',
        '-f',
        'lavfi',
        '-i',
        'color=d=0.1',
        '-c:v',
        'h264_nvenc',
        '-preset',
        'p9',
        '-f',
        'null',
        '-',
      ],
      { timeoutMs: 10_000 },
    );
    expect(bad.stderr).toMatch(OPTION_ERROR);
  });
});
