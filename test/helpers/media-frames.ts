import { execFile } from 'node:child_process';
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import type { MediaFrame, VideoCodec } from '../../src/core/media.js';

const run = promisify(execFile);

/**
 * Real encoded frames for relay tests: ffmpeg encodes lavfi test sources the way a WebRTC
 * sender would (no B-frames, parameter sets before every IDR, 20 ms Opus packets), and
 * the raw elementary streams (.h264 Annex-B, .ivf, .ogg) are cut into MediaFrames here.
 */
export interface MakeFramesOptions {
  video: VideoCodec;
  seconds: number;
  width?: number;
  height?: number;
  fps?: number;
  /** Key frame interval in frames. @defaultValue fps */
  gop?: number;
  /** Adds a 440 Hz stereo Opus track. */
  audio?: boolean;
}

export interface Frames {
  video: MediaFrame[];
  audio: MediaFrame[];
  fps: number;
  width: number;
  height: number;
  /** Duration covered by the frames, µs. */
  durationUs: number;
}

const ffmpeg = () => process.env.FFMPEG_PATH ?? 'ffmpeg';

export async function makeFrames(dir: string, o: MakeFramesOptions): Promise<Frames> {
  await mkdir(dir, { recursive: true });
  const width = o.width ?? 640;
  const height = o.height ?? 360;
  const fps = o.fps ?? 30;
  const gop = o.gop ?? fps;
  const base = path.join(dir, `${o.video}-${width}x${height}-${fps}-${gop}-${o.seconds}s`);
  const src = ['-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}:duration=${o.seconds}`];
  const quiet = ['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'];
  let video: MediaFrame[];
  if (o.video === 'h264') {
    const file = `${base}.h264`;
    // prettier-ignore
    await run(ffmpeg(), [
      ...quiet, ...src,
      '-c:v', 'libx264', '-preset', 'veryfast', '-profile:v', 'high', '-pix_fmt', 'yuv420p',
      '-bf', '0', '-g', String(gop), '-keyint_min', String(gop), '-sc_threshold', '0',
      '-x264-params', 'aud=1:repeat-headers=1', '-f', 'h264', file,
    ]);
    video = splitH264(await readFile(file)).map((data, i) => ({
      kind: 'video',
      codec: 'h264',
      timeUs: Math.round((i * 1e6) / fps),
      keyframe: hasNal(data, 5),
      data,
      arrivalMs: 0,
    }));
  } else {
    const file = `${base}.ivf`;
    const enc =
      o.video === 'vp8'
        ? ['-c:v', 'libvpx', '-auto-alt-ref', '0']
        : ['-c:v', 'libvpx-vp9', '-row-mt', '1', '-lag-in-frames', '0'];
    // prettier-ignore
    await run(ffmpeg(), [
      ...quiet, ...src, ...enc,
      '-deadline', 'realtime', '-cpu-used', '8', '-b:v', '800k', '-g', String(gop), '-keyint_min', String(gop),
      '-f', 'ivf', file,
    ]);
    video = splitIvf(await readFile(file)).map((data, i) => ({
      kind: 'video',
      codec: o.video,
      timeUs: Math.round((i * 1e6) / fps),
      keyframe: o.video === 'vp8' ? ((data[0] ?? 1) & 1) === 0 : vp9IsKey(data),
      data,
      arrivalMs: 0,
    }));
  }
  let audio: MediaFrame[] = [];
  if (o.audio) {
    const file = `${base}.ogg`;
    // prettier-ignore
    await run(ffmpeg(), [
      ...quiet, '-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${o.seconds}`,
      '-ac', '2', '-c:a', 'libopus', '-b:a', '64k', '-frame_duration', '20', '-f', 'ogg', file,
    ]);
    // The first two packets are OpusHead and OpusTags.
    audio = splitOgg(await readFile(file))
      .slice(2)
      .map((data, i) => ({
        kind: 'audio',
        codec: 'opus',
        timeUs: i * 20_000,
        keyframe: true,
        data,
        arrivalMs: 0,
      }));
  }
  return { video, audio, fps, width, height, durationUs: Math.round((video.length * 1e6) / fps) };
}

/** Annex-B byte stream → access units (each begins with an AUD, which is removed: WebRTC sends none). */
export function splitH264(stream: Buffer): Buffer[] {
  const starts: number[] = [];
  for (let i = 0; i + 3 < stream.length; i++) {
    if (stream[i] === 0 && stream[i + 1] === 0 && stream[i + 2] === 1) {
      const type = (stream[i + 3] ?? 0) & 0x1f;
      if (type === 9) starts.push(i > 0 && stream[i - 1] === 0 ? i - 1 : i);
      i += 2;
    }
  }
  const aus: Buffer[] = [];
  for (let k = 0; k < starts.length; k++) {
    const au = stream.subarray(starts[k], starts[k + 1] ?? stream.length);
    // Drop the AUD: its start code and 2 bytes (type 9 + primary_pic_type).
    const aud = au.indexOf(Buffer.from([0, 0, 1, 9]));
    aus.push(Buffer.from(au.subarray(aud + 5)));
  }
  return aus;
}

function hasNal(au: Buffer, type: number): boolean {
  for (let i = 0; i + 3 < au.length; i++) {
    if (au[i] === 0 && au[i + 1] === 0 && au[i + 2] === 1 && ((au[i + 3] ?? 0) & 0x1f) === type) return true;
  }
  return false;
}

function vp9IsKey(frame: Buffer): boolean {
  const b = frame[0] ?? 0;
  const profile = ((b >> 5) & 1) | (((b >> 4) & 1) << 1);
  const shift = profile === 3 ? 1 : 0;
  if ((b >> (3 - shift)) & 1) return false; // show_existing_frame
  return ((b >> (2 - shift)) & 1) === 0;
}

/** IVF: a 32-byte file header, then per frame a 12-byte header (size, 64-bit pts) and the frame. */
export function splitIvf(file: Buffer): Buffer[] {
  const frames: Buffer[] = [];
  let p = file.readUInt16LE(6);
  while (p + 12 <= file.length) {
    const size = file.readUInt32LE(p);
    frames.push(Buffer.from(file.subarray(p + 12, p + 12 + size)));
    p += 12 + size;
  }
  return frames;
}

/** Ogg pages → packets (RFC 3533): a packet ends at a lacing value below 255. */
export function splitOgg(file: Buffer): Buffer[] {
  const packets: Buffer[] = [];
  let pending: Buffer[] = [];
  let p = 0;
  while (p + 27 <= file.length && file.toString('ascii', p, p + 4) === 'OggS') {
    const segments = file[p + 26] ?? 0;
    const table = file.subarray(p + 27, p + 27 + segments);
    let q = p + 27 + segments;
    for (const lace of table) {
      pending.push(file.subarray(q, q + lace));
      q += lace;
      if (lace < 255) {
        packets.push(Buffer.concat(pending));
        pending = [];
      }
    }
    p = q;
  }
  return packets;
}

/** Video and audio in one list, in timestamp order (video first on ties), as ingest would deliver them. */
export function interleave(f: Frames): MediaFrame[] {
  return [...f.video, ...f.audio].sort((a, b) => a.timeUs - b.timeUs || (a.kind === 'video' ? -1 : 1));
}
