import type { LadderPlanView } from '../core/jobs.js';
import { rungName, type Preset, type Rung } from '../core/preset.js';

/**
 * The ladder a source gets: the preset's rungs fitted to the source's shape. A rung names
 * its short side (the smaller of its width and height: 720 for 1280x720) and its bit
 * rate; the long side follows the source's display aspect ratio, so a portrait phone
 * stays portrait (a 720p rung of a 720x1280 source is 720x1280) and a 4:3 file stays 4:3.
 * Pure: the live and file jobs plan with it, the views show what it decided.
 */

export interface SourceShape {
  /** Coded size, pixels. */
  width: number;
  height: number;
  /** Sample aspect ratio (pixel shape), when the source declares one other than 1:1. */
  sar?: { num: number; den: number } | null;
  /** Display rotation of a file (its rotation metadata), degrees clockwise. */
  rotation?: number | null;
  /** Frames per second, when known. */
  fps?: number | null;
}

export interface PlannedRung extends Rung {
  /** Name of the preset rung it comes from (`720p`), the rendition name too. */
  name: string;
}

export interface DroppedRung {
  name: string;
  reason: string;
}

export interface LadderPlan {
  /** The rungs produced, in the preset's order, each sized for the source. */
  rungs: PlannedRung[];
  /** Preset rungs left out, and why. */
  dropped: DroppedRung[];
  /** The source as displayed (rotation and pixel shape applied). */
  display: { width: number; height: number };
}

const even = (n: number): number => Math.max(2, 2 * Math.round(n / 2));

/** Sizes above these are not encoded (the preset schema's bounds). */
const MAX_LONG = 3840;
const MAX_SHORT = 2160;

/** The source's size as a viewer sees it: SAR applied to the width, then the rotation. */
export function displaySize(s: SourceShape): { width: number; height: number } {
  const sar = s.sar && s.sar.num > 0 && s.sar.den > 0 ? s.sar.num / s.sar.den : 1;
  let width = s.width * sar;
  let height = s.height;
  const r = (((s.rotation ?? 0) % 360) + 360) % 360;
  if (r === 90 || r === 270) [width, height] = [height, width];
  return { width, height };
}

/** `short` along the source's short side, the long side from its display aspect ratio, both even. */
export function fitShortSide(
  display: { width: number; height: number },
  short: number,
): { width: number; height: number } {
  const portrait = display.height > display.width;
  const ratio = portrait ? display.height / display.width : display.width / display.height;
  let s = short;
  let l = even(s * ratio);
  // A very long or very thin source: keep within the encodable bounds, the aspect ratio first.
  if (l > MAX_LONG) {
    l = MAX_LONG;
    s = even(l / ratio);
  }
  s = Math.min(even(s), MAX_SHORT);
  return portrait ? { width: s, height: l } : { width: l, height: s };
}

/**
 * The plan with each rung's frame rate as it was first planned for the stream, where
 * `rates` has one for the rung. A later run (a takeover, a layer switch, a browser that
 * dropped to 20 fps under load) re-plans sizes, but a new frame rate would change the
 * length of every part (core/part-frames.ts) under a PART-TARGET the playlist keeps for
 * its life: the ladder keeps its rate and ffmpeg's fps filter fills or drops frames.
 */
export function keepFrameRates(plan: LadderPlan, rates: ReadonlyMap<string, number> | null): LadderPlan {
  if (!rates) return plan;
  return { ...plan, rungs: plan.rungs.map((r) => ({ ...r, fps: rates.get(r.name) ?? r.fps })) };
}

/**
 * Plans the preset's ladder for `source`. No rung is larger than the source (rungs whose
 * short side is above the source's are dropped; the largest kept may equal it) or faster
 * than its frame rate, and at least one rung always remains: when every rung is larger,
 * the smallest is kept at the source's own size, its bit rate scaled by the pixels it loses.
 */
export function planLadder(preset: Preset, source: SourceShape): LadderPlan {
  const display = displaySize(source);
  const sourceShort = Math.min(display.width, display.height);
  const sourceFps = source.fps && source.fps > 0 ? source.fps : null;
  const fit = (r: Rung, short: number): PlannedRung => {
    const size = fitShortSide(display, short);
    const fps = sourceFps !== null && sourceFps < r.fps ? Math.floor(sourceFps * 1000) / 1000 : r.fps;
    return { ...r, name: rungName(r), width: size.width, height: size.height, fps: Math.max(1, fps) };
  };
  const rungs: PlannedRung[] = [];
  const dropped: DroppedRung[] = [];
  for (const r of preset.ladder) {
    const short = Math.min(r.width, r.height);
    if (short > sourceShort + 1) {
      dropped.push({
        name: rungName(r),
        reason: `larger than the source (${short}p rung, ${Math.round(display.width)}x${Math.round(display.height)} source)`,
      });
      continue;
    }
    rungs.push(fit(r, short));
  }
  if (rungs.length === 0) {
    const smallest = [...preset.ladder].sort(
      (a, b) => Math.min(a.width, a.height) - Math.min(b.width, b.height),
    )[0]!;
    const kept = fit(smallest, even(sourceShort));
    const was = Math.min(smallest.width, smallest.height);
    const scale =
      (kept.width * kept.height) / (fitShortSide(display, was).width * fitShortSide(display, was).height);
    kept.videoBitrateKbps = Math.max(100, Math.round(smallest.videoBitrateKbps * Math.min(1, scale)));
    if (kept.maxrateKbps !== undefined)
      kept.maxrateKbps = Math.max(kept.videoBitrateKbps, Math.round(kept.maxrateKbps * Math.min(1, scale)));
    if (kept.bufsizeKbps !== undefined)
      kept.bufsizeKbps = Math.max(100, Math.round(kept.bufsizeKbps * Math.min(1, scale)));
    const i = dropped.findIndex((d) => d.name === kept.name);
    if (i >= 0) dropped.splice(i, 1);
    rungs.push(kept);
  }
  return {
    rungs,
    dropped,
    display: { width: Math.round(display.width), height: Math.round(display.height) },
  };
}

/** The preset with its ladder replaced by the planned one (what the argument builders take). */
export function plannedPreset(preset: Preset, plan: LadderPlan): Preset {
  return { ...preset, ladder: plan.rungs };
}

/** What a job records of its plan (GET /api/jobs and /api/streams show it). */
export function planView(p: LadderPlan): LadderPlanView {
  return {
    rungs: p.rungs.map((r) => ({
      name: r.name,
      width: r.width,
      height: r.height,
      fps: r.fps,
      bitrateKbps: r.videoBitrateKbps,
    })),
    dropped: p.dropped,
  };
}
