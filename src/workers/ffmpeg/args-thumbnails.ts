import { AppError } from '../../core/errors.js';
import type { SpritePlan } from '../../packager/index.js';

/**
 * ffmpeg argument lists for pictures cut from the packager's own fragmented MP4 (init
 * segment + segments of the lowest rung, written to stdin by the caller). Pure, like
 * buildFfmpegArgs: no string from a request reaches them, only numbers checked here.
 *
 * `-skip_frame nokey` decodes key frames only: a segment starts with one, and the
 * ladder's key frames sit every gopSeconds, which is where the sprite's tiles are
 * taken, so a file's whole rung is read but only one frame per GOP is decoded.
 */
const INPUT = [
  ...['-hide_banner', '-loglevel', 'error', '-nostats'],
  ...['-protocol_whitelist', 'pipe', '-f', 'mp4', '-skip_frame', 'nokey'],
  ...['-i', 'pipe:0'],
];

/** JPEG quality, 2 (best) to 31: 4 for a poster someone looks at, 6 for tiles 160 px wide. */
const POSTER_QUALITY = '4';
const TILE_QUALITY = '6';

function jpegTo(fd: number, quality: string): string[] {
  return ['-frames:v', '1', '-c:v', 'mjpeg', '-q:v', quality, '-f', 'image2pipe', `pipe:${fd}`];
}

function checkInt(name: string, n: number, min: number, max: number): string {
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new AppError('internal', `${name} must be a whole number from ${min} to ${max}, got ${n}`);
  }
  return String(n);
}

function checkSeconds(name: string, s: number): string {
  if (!Number.isFinite(s) || s < 0 || s > 1e7) throw new AppError('internal', `${name} out of range: ${s}`);
  return String(Math.round(s * 1000) / 1000);
}

/**
 * Fits the picture inside maxSide x maxSide, keeping its aspect ratio and never scaling
 * it up; even sizes for 4:2:0. `format=yuvj420p`: the full-range JPEG pixel format.
 */
function fit(maxSide: number): string {
  const m = checkInt('maxSide', maxSide, 16, 4096);
  return (
    `scale=w='min(${m},iw)':h='min(${m},ih)':force_original_aspect_ratio=decrease:force_divisible_by=2,` +
    'format=yuvj420p'
  );
}

/** A live stream's poster: the first (key) frame of a segment, fitted in maxSide, one JPEG on fd 3. */
export function posterArgs(maxSide: number): string[] {
  return [...INPUT, '-map', '0:v:0', '-an', '-sn', '-vf', fit(maxSide), ...jpegTo(3, POSTER_QUALITY)];
}

/**
 * A file's poster (fd 3: the first key frame from `posterAtS` on, fitted in maxSide)
 * and its sprite (fd 4: a key frame every plan.intervalS, plan.tileWidth wide, tiled
 * columns x rows), from one decode. A tile is the first key frame at least
 * intervalS - gopS/2 after the previous tile, so jitter in key frame times (the first
 * frame's offset, a segment boundary) never skips a slot.
 */
export function fileThumbnailArgs(
  plan: SpritePlan,
  posterAtS: number,
  gopS: number,
  maxSide: number,
): string[] {
  const after = checkSeconds('tile spacing', Math.max(0, plan.intervalS - gopS / 2));
  const from = checkSeconds('posterAtS', Math.max(0, posterAtS - gopS / 2));
  const w = checkInt('tileWidth', plan.tileWidth, 16, 1024);
  const h = checkInt('tileHeight', plan.tileHeight, 2, 4096);
  const cols = checkInt('columns', plan.columns, 1, 100);
  const rows = checkInt('rows', plan.rows, 1, 100);
  const graph = [
    '[0:v:0]split=2[p][s]',
    `[p]select='gte(t,${from})',${fit(maxSide)}[poster]`,
    `[s]select='isnan(prev_selected_t)+gte(t-prev_selected_t,${after})',` +
      `scale=${w}:${h},setsar=1,tile=${cols}x${rows},format=yuvj420p[sprite]`,
  ].join(';');
  return [
    ...INPUT,
    ...['-filter_complex', graph],
    ...['-map', '[poster]', ...jpegTo(3, POSTER_QUALITY)],
    ...['-map', '[sprite]', ...jpegTo(4, TILE_QUALITY)],
  ];
}
