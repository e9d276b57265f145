import { execFile } from 'node:child_process';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface TestClipOptions {
  seconds: number;
  width: number;
  height: number;
  fps: number;
  /** Adds a 440 Hz AAC stereo track at 48 kHz. */
  audio: boolean;
  /** File name inside dir; default `clip-{w}x{h}-{fps}fps-{s}s[-audio].mp4`. */
  name?: string;
  /** Default FFMPEG_PATH, else `ffmpeg`. */
  ffmpegPath?: string;
}

/**
 * A small H.264 (+AAC) MP4 from lavfi's testsrc2 and sine, with a keyframe every second
 * and the moov up front, like a file a user would upload. Returns its absolute path.
 */
export async function makeTestClip(dir: string, opts: TestClipOptions): Promise<string> {
  await mkdir(dir, { recursive: true });
  const name =
    opts.name ??
    `clip-${opts.width}x${opts.height}-${opts.fps}fps-${opts.seconds}s${opts.audio ? '-audio' : ''}.mp4`;
  const file = path.resolve(dir, name);
  const video = `testsrc2=size=${opts.width}x${opts.height}:rate=${opts.fps}:duration=${opts.seconds}`;
  const audio = opts.audio
    ? ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=48000:duration=${opts.seconds}`]
    : [];
  await run(
    opts.ffmpegPath ?? process.env.FFMPEG_PATH ?? 'ffmpeg',
    [
      ...['-hide_banner', '-loglevel', 'error', '-nostdin', '-y'],
      ...['-f', 'lavfi', '-i', video, ...audio],
      ...['-map', '0:v:0', ...(opts.audio ? ['-map', '1:a:0'] : [])],
      ...['-c:v', 'libx264', '-preset', 'ultrafast', '-pix_fmt', 'yuv420p'],
      ...['-g', String(Math.max(1, Math.round(opts.fps)))],
      ...(opts.audio ? ['-c:a', 'aac', '-b:a', '96k', '-ac', '2'] : []),
      ...['-movflags', '+faststart', file],
    ],
    { maxBuffer: 1024 * 1024 },
  );
  return file;
}
