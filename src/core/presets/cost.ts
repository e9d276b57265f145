import { AppError } from '../errors.js';
import { rungName, type Preset, type VideoCodec, X264_PRESETS } from '../preset.js';

/**
 * What a preset asks of a worker, in weighted megapixels per second: each rung's encoded
 * pixels per second (width x height x fps), times how much slower than libx264 at
 * `veryfast` its software encoder runs. A worker runs every rung of a live stream at once,
 * in real time, so the sum is what one ffmpeg must keep up with. A ceiling refuses presets
 * no machine runs in real time (six 4K60 AV1 rungs at `veryslow`), not presets a small one
 * might struggle with, so weights good to a factor of two do.
 *
 * The x264 speeds are the workers' own measurement (src/workers/live-capacity.ts, which
 * sizes how many live streams a worker takes: Debian's ffmpeg 5.1, decode and scale
 * included, about 105 megapixels per second per core at `veryfast`), so a preset's cost
 * divided by 105 is about the cores it takes. The default ceiling (MAX_PRESET_COST, 1000)
 * is about 10 such cores, as far as one ffmpeg's encoders spread; the built-in `default`
 * ladder costs 109.
 */

/**
 * Encoded pixels per second one core sustains per x264 preset (decode and scale included):
 * the measured figures live-capacity.ts schedules live streams by, and this ceiling weighs.
 */
export const PIXELS_PER_CORE: Record<(typeof X264_PRESETS)[number], number> = {
  ultrafast: 260e6,
  superfast: 160e6,
  veryfast: 105e6,
  faster: 75e6,
  fast: 60e6,
  medium: 48e6,
  slow: 28e6,
  slower: 14e6,
  veryslow: 6e6,
};

/** libx264's run time relative to `veryfast`, per speed preset. */
export const X264_SPEED_COST = Object.fromEntries(
  Object.entries(PIXELS_PER_CORE).map(([p, px]) => [p, PIXELS_PER_CORE.veryfast / px]),
) as Record<(typeof X264_PRESETS)[number], number>;

/** The software encoder of each codec relative to libx264 at the same speed name (libx265, libsvtav1). */
export const CODEC_COST: Record<VideoCodec, number> = { h264: 1, hevc: 4, av1: 3 };

export interface RungCost {
  /** The rung's index in the ladder, and its field: `ladder.{index}`. */
  index: number;
  name: string;
  cost: number;
  /** How the cost came about, for the error text: `3840x2160 at 60 fps, av1 at veryslow`. */
  how: string;
}

export interface PresetCost {
  total: number;
  rungs: RungCost[];
}

const round = (n: number) => Math.round(n * 10) / 10;

/**
 * The preset's cost. A preset that requires hardware never runs on the software
 * encoders, and a hardware encoder's speed barely depends on its own preset: its rungs
 * count their raw pixel rate. Every other preset may run on x264 (a worker without the
 * hardware it prefers falls back to it), so its rungs are weighted.
 */
export function presetCost(p: Preset): PresetCost {
  const software = p.hardware.policy !== 'require';
  const speed = p.encoders.x264.preset;
  const rungs = p.ladder.map((r, index): RungCost => {
    const mpx = (r.width * r.height * r.fps) / 1e6;
    const weight = software ? X264_SPEED_COST[speed] * CODEC_COST[r.codec] : 1;
    const encoder = software ? `${r.codec} at ${speed}` : `${r.codec} on hardware`;
    return {
      index,
      name: rungName(r),
      cost: round(mpx * weight),
      how: `${r.width}x${r.height} at ${r.fps} fps, ${encoder}`,
    };
  });
  return { total: round(rungs.reduce((a, r) => a + r.cost, 0)), rungs };
}

/**
 * Refuses a preset whose cost is over `max` (MAX_PRESET_COST) with validation_failed:
 * the field is its costliest rung, and the message lists what each rung costs.
 */
export function checkPresetCost(p: Preset, max: number): void {
  const c = presetCost(p);
  if (c.total <= max) return;
  const worst = c.rungs.reduce((a, b) => (b.cost > a.cost ? b : a));
  const each = c.rungs.map((r) => `ladder.${r.index} (${r.name}: ${r.how}) costs ${r.cost}`).join('; ');
  throw new AppError(
    'validation_failed',
    `ladder.${worst.index}: this preset costs ${c.total} weighted megapixels per second, over the ` +
      `${max} one worker is allowed (MAX_PRESET_COST), so no worker could run it in real time: ${each}`,
    { field: `ladder.${worst.index}` },
  );
}
