import { SPRITE_NAME } from '../names.js';

/**
 * The seeking-preview sprite of a file: one tile every `intervalS` seconds of media, laid
 * out in a grid, and the WebVTT track that maps each time range to its tile (the
 * `#xywh=` media fragment of W3C Media Fragments 1.0, 4.2.1, as video.js, JW Player,
 * Shaka and others read thumbnail tracks). Pure: the numbers here are all that reaches
 * ffmpeg's filter arguments (src/workers/ffmpeg/args-thumbnails.ts).
 */
export interface SpritePlan {
  /** Media seconds between two tiles: a whole number of GOPs, so each tile is a key frame. */
  intervalS: number;
  /** Tiles in the sprite (the last covers the end of the media). */
  count: number;
  columns: number;
  rows: number;
  tileWidth: number;
  tileHeight: number;
}

/** A sprite this many tiles at most: 10 x 10 tiles of 160 x 90 is a ~1600 x 900 JPEG. */
export const MAX_TILES = 100;
export const TILE_WIDTH = 160;
const MAX_COLUMNS = 10;
/** Media at the very end shorter than this gets no tile of its own (s). */
const END_SLACK_S = 0.25;

export interface SpriteInput {
  durationS: number;
  /** The ladder's key frame interval (preset.gopSeconds): tiles sit on key frames. */
  gopS: number;
  /** The picture the tiles are cut from (any rung: only its aspect ratio matters). */
  width: number;
  height: number;
}

export function planSprite(input: SpriteInput): SpritePlan {
  const { durationS, gopS } = input;
  if (!(durationS > 0) || !(gopS > 0) || !(input.width > 0) || !(input.height > 0)) {
    throw new RangeError('duration, GOP, width and height must be positive');
  }
  // At most MAX_TILES tiles, at least one GOP apart, a whole number of GOPs apart.
  const gops = Math.max(1, Math.ceil(durationS / MAX_TILES / gopS - 1e-9));
  const intervalS = round3(gops * gopS);
  // A tile starts on a key frame before the end; audio often runs a few ms past the last
  // video frame, and those ms must not add a tile of nothing.
  const count = Math.max(1, Math.min(MAX_TILES, Math.ceil((durationS - END_SLACK_S) / intervalS - 1e-9)));
  const columns = Math.min(MAX_COLUMNS, count);
  const rows = Math.ceil(count / columns);
  // Even sizes: the JPEG encoder's 4:2:0 wants them; portrait stays portrait.
  const tileHeight = Math.max(2, Math.round((TILE_WIDTH * input.height) / input.width / 2) * 2);
  return { intervalS, count, columns, rows, tileWidth: TILE_WIDTH, tileHeight };
}

/** Where the file's poster is taken: the key frame nearest a tenth of the way in (a title card is often at 0). */
export function posterTimeS(durationS: number, gopS: number): number {
  return round3(Math.floor((durationS * 0.1) / gopS) * gopS);
}

/**
 * Which segments hold the key frames the pictures are taken from: the one that covers
 * each tile's time, and the poster's. A segment starts on a key frame and the tiles sit
 * on whole GOPs, so these are all ffmpeg needs; for a two-hour file that is about 100
 * segments of the smallest rung, not 1,800. Returns segment indexes, in order.
 */
export function segmentsFor(plan: SpritePlan, posterAtS: number, durationsS: readonly number[]): number[] {
  const starts: number[] = [];
  let t = 0;
  for (const d of durationsS) {
    starts.push(t);
    t += d;
  }
  const wanted = new Set<number>();
  const times = [posterAtS, ...Array.from({ length: plan.count }, (_, i) => i * plan.intervalS)];
  for (const at of times) {
    // The last segment starting at or before `at` (a little slack for rounded durations).
    let i = starts.length - 1;
    while (i > 0 && (starts[i] ?? 0) > at + 0.01) i--;
    if (i >= 0) wanted.add(i);
  }
  return [...wanted].sort((a, b) => a - b);
}

/** `hh:mm:ss.ttt`, WebVTT's timestamp (WebVTT 4.3: hours are always allowed). */
export function vttTime(s: number): string {
  const ms = Math.round(s * 1000);
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const sec = Math.floor((ms % 60_000) / 1000);
  const pad = (n: number, w = 2) => String(n).padStart(w, '0');
  return `${pad(h)}:${pad(m)}:${pad(sec)}.${pad(ms % 1000, 3)}`;
}

/**
 * The thumbnail track: one cue per tile, `start --> end` then `sprite.jpg#xywh=x,y,w,h`
 * (relative to the track's own URL, so it works behind any origin or CDN path).
 */
export function renderThumbnailsVtt(plan: SpritePlan, durationS: number, spriteName = SPRITE_NAME): string {
  const out = ['WEBVTT', ''];
  for (let i = 0; i < plan.count; i++) {
    const start = i * plan.intervalS;
    // The last cue runs to the end, past its interval if audio outlasts the last tile.
    const end = i === plan.count - 1 ? durationS : Math.min(durationS, (i + 1) * plan.intervalS);
    const x = (i % plan.columns) * plan.tileWidth;
    const y = Math.floor(i / plan.columns) * plan.tileHeight;
    out.push(`${vttTime(start)} --> ${vttTime(end)}`);
    out.push(`${spriteName}#xywh=${x},${y},${plan.tileWidth},${plan.tileHeight}`, '');
  }
  return out.join('\n');
}

function round3(n: number): number {
  return Math.round(n * 1000) / 1000;
}
