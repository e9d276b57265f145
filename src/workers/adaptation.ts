import { X264_PRESETS, type EncoderFamily, type Preset } from '../core/preset.js';

/**
 * A live transcode that cannot keep up adapts in steps, each one restarting ffmpeg
 * (behind EXT-X-DISCONTINUITY): first a faster x264 preset, one level a step, then fewer
 * rungs, the top one going first, down to one. Pure: the live job keeps the level and
 * the lag monitor below decides when to take the next step.
 */

export interface Degraded {
  /** The preset to run at this level. */
  preset: Preset;
  /** What this level changed, for the log, the job and GET /api/streams. */
  changes: string[];
}

/** The preset at degradation `level` (0: as planned). Levels beyond the last step change nothing more. */
export function degrade(preset: Preset, level: number, family: EncoderFamily): Degraded {
  let p = preset;
  const changes: string[] = [];
  let left = level;
  if (family === 'x264') {
    const at = X264_PRESETS.indexOf(p.encoders.x264.preset);
    const faster = Math.min(left, at);
    if (faster > 0) {
      const to = X264_PRESETS[at - faster]!;
      changes.push(`x264 preset ${p.encoders.x264.preset} → ${to}`);
      p = { ...p, encoders: { ...p.encoders, x264: { ...p.encoders.x264, preset: to } } };
      left -= faster;
    }
  }
  const drop = Math.min(left, p.ladder.length - 1);
  if (drop > 0) {
    // The largest rungs go first, whatever order the preset lists them in.
    const largest = [...p.ladder].sort((a, b) => b.width * b.height - a.width * a.height).slice(0, drop);
    const gone = largest.map((r) => r.name ?? `${r.height}p`);
    changes.push(`rung${gone.length > 1 ? 's' : ''} ${gone.join(', ')} left out`);
    p = { ...p, ladder: p.ladder.filter((r) => !largest.includes(r)) };
  }
  return { preset: p, changes };
}

/** How many levels degrade() can take a preset down before it changes nothing more. */
export function maxLevel(preset: Preset, family: EncoderFamily): number {
  const faster = family === 'x264' ? X264_PRESETS.indexOf(preset.encoders.x264.preset) : 0;
  return faster + preset.ladder.length - 1;
}

export interface LagMonitorOptions {
  /** How long the transcode must stay behind before it counts as slow, ms. @defaultValue 5000 */
  windowMs?: number;
  /** Under this speed (media time per wall time over the window) it is falling behind. @defaultValue 0.95 */
  minSpeed?: number;
  /** Behind real time by less than this, ms, it is not late yet. @defaultValue 1000 */
  graceMs?: number;
  /** Behind by this much, ms, it is too late whatever its speed. @defaultValue 3000 */
  maxLagMs?: number;
}

/**
 * Watches one ffmpeg run: `lag` is how far its output is behind real time (wall clock
 * since the run's media time 0, less the media time ffmpeg has written). Slow means:
 * over a whole window the output advanced slower than real time and is now more than
 * graceMs behind, or it stayed more than maxLagMs behind.
 */
export class LagMonitor {
  readonly #o: Required<LagMonitorOptions>;
  readonly #samples: { at: number; out: number; lag: number }[] = [];

  constructor(o: LagMonitorOptions = {}) {
    this.#o = { windowMs: 5000, minSpeed: 0.95, graceMs: 1000, maxLagMs: 3000, ...o };
  }

  /** A progress report: wall clock now, ms of media written, and the wall clock of media time 0. */
  push(nowMs: number, outTimeMs: number, epochMs: number): 'ok' | 'slow' {
    const lag = nowMs - epochMs - outTimeMs;
    this.#samples.push({ at: nowMs, out: outTimeMs, lag });
    const from = nowMs - this.#o.windowMs;
    while (this.#samples.length > 2 && this.#samples[1]!.at <= from) this.#samples.shift();
    const first = this.#samples[0]!;
    if (nowMs - first.at < this.#o.windowMs) return 'ok';
    const window = this.#samples.filter((s) => s.at >= first.at);
    const speed = (outTimeMs - first.out) / Math.max(1, nowMs - first.at);
    if (window.every((s) => s.lag > this.#o.maxLagMs)) return 'slow';
    // Slower than real time for the whole window and behind by now: a load that came on a
    // moment ago is noticed after one window (5 s), not after the lag passes the grace and
    // then a second window (10 s measured under CPU hogs).
    if (speed < this.#o.minSpeed && this.lagMs > this.#o.graceMs) return 'slow';
    return 'ok';
  }

  /** How far behind the last report was, ms. */
  get lagMs(): number {
    return this.#samples.at(-1)?.lag ?? 0;
  }
}
