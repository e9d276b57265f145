import { describe, expect, it } from '@jest/globals';
import { AppError } from '../../src/core/errors.js';
import { planSprite } from '../../src/packager/thumbnails/sprite.js';
import { fileThumbnailArgs, posterArgs } from '../../src/workers/ffmpeg/args-thumbnails.js';

const INPUT = [
  ...['-hide_banner', '-loglevel', 'error', '-nostats'],
  ...['-protocol_whitelist', 'pipe', '-f', 'mp4', '-skip_frame', 'nokey', '-i', 'pipe:0'],
];

describe('thumbnail argument lists (whole, as ffmpeg gets them)', () => {
  it('a live poster: one key frame from stdin, fitted in 320 px without upscaling, a JPEG on fd 3', () => {
    // prettier-ignore
    expect(posterArgs(320)).toEqual([
      ...INPUT,
      '-map', '0:v:0', '-an', '-sn',
      '-vf',
      "scale=w='min(320,iw)':h='min(320,ih)':force_original_aspect_ratio=decrease:force_divisible_by=2,format=yuvj420p",
      '-frames:v', '1', '-c:v', 'mjpeg', '-q:v', '4', '-f', 'image2pipe', 'pipe:3',
    ]);
  });

  it("a file's poster and sprite from one decode: fd 3 and fd 4", () => {
    const plan = planSprite({ durationS: 8, gopS: 2, width: 640, height: 360 });
    // prettier-ignore
    expect(fileThumbnailArgs(plan, 0, 2, 640)).toEqual([
      ...INPUT,
      '-filter_complex',
      '[0:v:0]split=2[p][s];' +
        "[p]select='gte(t,0)',scale=w='min(640,iw)':h='min(640,ih)':force_original_aspect_ratio=decrease:force_divisible_by=2,format=yuvj420p[poster];" +
        "[s]select='isnan(prev_selected_t)+gte(t-prev_selected_t,1)',scale=160:90,setsar=1,tile=4x1,format=yuvj420p[sprite]",
      '-map', '[poster]', '-frames:v', '1', '-c:v', 'mjpeg', '-q:v', '4', '-f', 'image2pipe', 'pipe:3',
      '-map', '[sprite]', '-frames:v', '1', '-c:v', 'mjpeg', '-q:v', '6', '-f', 'image2pipe', 'pipe:4',
    ]);
  });

  it('takes the poster from the key frame nearest its time, half a GOP early to allow for jitter', () => {
    const plan = planSprite({ durationS: 60, gopS: 2, width: 640, height: 360 });
    expect(fileThumbnailArgs(plan, 6, 2, 640).join(' ')).toContain("select='gte(t,5)'");
  });

  it('refuses numbers out of range: nothing but checked numbers reaches the filter graph', () => {
    const plan = planSprite({ durationS: 8, gopS: 2, width: 640, height: 360 });
    const code = (f: () => unknown): string | null => {
      try {
        f();
        return null;
      } catch (e) {
        return e instanceof AppError ? e.code : String(e);
      }
    };
    expect(code(() => posterArgs(0))).toBe('internal');
    expect(code(() => posterArgs(320.5))).toBe('internal');
    expect(code(() => fileThumbnailArgs({ ...plan, columns: 0 }, 0, 2, 640))).toBe('internal');
    expect(code(() => fileThumbnailArgs({ ...plan, tileHeight: Number.NaN }, 0, 2, 640))).toBe('internal');
    expect(code(() => fileThumbnailArgs(plan, Number.POSITIVE_INFINITY, 2, 640))).toBe('internal');
  });
});
