import { existsSync } from 'node:fs';
import { mkdir, rename } from 'node:fs/promises';
import path from 'node:path';
import { exited, spawnOwned } from './core/child.js';
import { AppError } from './core/errors.js';
import type { Service } from './service.js';

export const DEMO_ID = 'sample';
const DEMO_FILE = 'sample.mp4';

/** A 12 s test clip (moving pattern, timecode, a tone): made once into MEDIA_DIR. */
async function makeSampleClip(ffmpegPath: string, mediaDir: string): Promise<string> {
  const target = path.join(mediaDir, DEMO_FILE);
  if (existsSync(target)) return target;
  await mkdir(mediaDir, { recursive: true });
  const tmp = `${target}.tmp.mp4`;
  const child = spawnOwned(
    ffmpegPath,
    [
      '-hide_banner',
      '-loglevel',
      'error',
      '-y',
      '-f',
      'lavfi',
      '-i',
      'testsrc2=size=1280x720:rate=30:duration=12',
      '-f',
      'lavfi',
      '-i',
      'sine=frequency=440:sample_rate=48000:duration=12',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'aac',
      '-b:a',
      '96k',
      '-shortest',
      tmp,
    ],
    { stdio: 'ignore' },
  );
  await exited(child);
  if (child.exitCode !== 0) throw new AppError('ffmpeg_failed', 'could not generate the sample clip');
  await rename(tmp, target);
  return target;
}

/** Queues the sample transcode (unless it is already queued or done); returns its playlist URL. */
export async function queueDemo(service: Service): Promise<string> {
  const jobs = service.jobs;
  if (!jobs) throw new Error('the demo needs the api role');
  await makeSampleClip(service.config.ffmpegPath, service.config.mediaDir);
  try {
    return (await jobs.get(DEMO_ID)).playlistUrl;
  } catch (e) {
    if (!(e instanceof AppError && e.code === 'not_found')) throw e;
  }
  const view = await jobs.enqueueVod({
    id: DEMO_ID,
    presetId: 'light',
    input: { path: path.join(service.config.mediaDir, DEMO_FILE), deleteAfter: false, label: DEMO_FILE },
  });
  return view.playlistUrl;
}
