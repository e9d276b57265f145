import { partFrames } from '../../core/part-frames.js';
import type { ServerControl } from '../playlist/media.js';

/**
 * The fixed durations of a live Media Playlist and the EXT-X-SERVER-CONTROL values that
 * follow from them. Pure arithmetic, in one place so the packager, the origin and the
 * tests agree.
 */

/** Float noise in tick ratios (3072 / 15360 is not exactly 0.2) must not push a value over a bound. */
const EPSILON = 1e-6;

const ceilMs = (seconds: number): number => Math.ceil(seconds * 1000 - EPSILON) / 1000;

/**
 * EXT-X-TARGETDURATION for a stream cut on a `segmentSeconds` grid. RFC 8216bis 6.2.1:
 * "The server MUST NOT change the EXT-X-TARGETDURATION value", so it is chosen once,
 * from the preset, and segments are kept under it (see maxSegmentSecondsFor).
 */
export function liveTargetDuration(segmentSeconds: number): number {
  if (!(segmentSeconds > 0)) throw new RangeError('segmentSeconds must be positive');
  return Math.max(1, Math.ceil(segmentSeconds - EPSILON));
}

/**
 * The longest segment the segmenter may make: RFC 8216bis 4.4.3.1, "The EXTINF duration
 * of each Media Segment in a Playlist file, when rounded to the nearest integer, MUST be
 * less than or equal to the Target Duration." A GOP that overruns is cut just under
 * target + 0.5 s (without a keyframe) rather than break that.
 */
export function maxSegmentSecondsFor(targetDuration: number): number {
  return targetDuration + 0.499;
}

/**
 * PART-TARGET for parts that ffmpeg cuts with `-frag_duration partSeconds`: its mov
 * muxer closes a fragment at the first frame whose start reaches partSeconds, so a part
 * holds ceil(partSeconds / frame) frames and lasts up to one frame more than
 * partSeconds (30 fps video: 0.333 → 0.3333 s; 48 kHz AAC: 0.333 → 16 × 1024 samples =
 * 0.3413 s). RFC 8216bis 4.4.4.9: "The duration of a Partial Segment MUST be less than or
 * equal to the Part Target Duration", and it also asks parts to be at least 85% of it,
 * so the target is the real part length rounded up to a millisecond, not a loose
 * margin. `frameSeconds` is measured from the first fragment (duration / samples).
 */
export function partTargetFor(partSeconds: number, frameSeconds: number): number {
  if (!(partSeconds > 0)) throw new RangeError('partSeconds must be positive');
  if (!(frameSeconds > 0)) return ceilMs(partSeconds);
  const frames = Math.max(1, Math.ceil(partSeconds / frameSeconds - EPSILON));
  return ceilMs(frames * frameSeconds);
}

/**
 * PART-TARGET of a video rendition the worker encodes with key frames every `gopSeconds`:
 * its parts hold partFrames() frames (core/part-frames.ts), the ffmpeg arguments' choice.
 */
export function encodedPartTargetFor(partSeconds: number, frameSeconds: number, gopSeconds: number): number {
  if (!(frameSeconds > 0)) return partTargetFor(partSeconds, frameSeconds);
  return ceilMs(partFrames(1 / frameSeconds, partSeconds, gopSeconds) * frameSeconds);
}

/** A part longer than the target (a variable frame rate, a stalled encoder) raises it to fit. */
export function raisedPartTarget(current: number, partSeconds: number): number {
  return partSeconds > current + EPSILON ? ceilMs(partSeconds) : current;
}

/** Whether a part fits under PART-TARGET as both are printed (5 decimals). */
export function fitsPartTarget(partSeconds: number, partTarget: number): boolean {
  return partSeconds <= partTarget + EPSILON;
}

/**
 * RFC 8216bis 4.4.3.8 EXT-X-SERVER-CONTROL:
 * - CAN-SKIP-UNTIL: "The Skip Boundary MUST be at least six times the Target Duration."
 * - HOLD-BACK: "HOLD-BACK MUST be at least three times the Target Duration."
 * - PART-HOLD-BACK: "PART-HOLD-BACK MUST be at least twice the Part Target Duration. Its
 *   value SHOULD be at least three times the Part Target Duration."
 * Each is exactly its floor (rounded up to a millisecond), the lowest latency allowed.
 */
export function serverControlFor(targetDuration: number, partTarget: number): ServerControl {
  return {
    canBlockReload: true,
    canSkipUntil: 6 * targetDuration,
    holdBack: 3 * targetDuration,
    partHoldBack: ceilMs(3 * partTarget),
  };
}
