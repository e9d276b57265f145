/**
 * How many frames each LL-HLS part of a video rendition holds, so that every part but a
 * segment's last is at least 85% of PART-TARGET (RFC 8216bis 4.4.4.9). ffmpeg's mov
 * muxer closes a fragment at every key frame as well as at `-frag_duration`, so the part
 * before each key frame holds what is left of the GOP: with 25 fps, 2 s GOPs and
 * ceil(0.333 × 25) = 9-frame parts that is 5 frames, 56% of PART-TARGET, at every key
 * frame inside a segment (4 s segments hold two GOPs). The frames per part are chosen
 * near `partSeconds` so that the GOP is a whole number of parts, or its last part is 85%
 * of a whole one or more: 25 fps → 10 frames (0.4 s), 20 fps → 8, 30 fps → 10 as before.
 * Only between half and 1.6 times partSeconds: a GOP of a prime number of frames (an
 * odd measured rate such as 30.5 fps) keeps ceil(partSeconds × fps) and its short part
 * rather than parts twice as long. Pure; the worker's ffmpeg arguments and the live
 * packager's PART-TARGET both use it.
 */
export function partFrames(fps: number, partSeconds: number, gopSeconds: number): number {
  const plain = framesIn(partSeconds, fps);
  const gop = framesIn(gopSeconds, fps);
  if (gop <= plain) return gop;
  const fits = (p: number) => gop % p === 0 || gop % p >= 0.85 * p;
  if (fits(plain)) return plain;
  const target = partSeconds * fps;
  let best: number | null = null;
  for (let p = Math.max(1, Math.ceil(target * 0.5)); p <= Math.ceil(target * 1.6) && p <= gop; p++) {
    if (fits(p) && (best === null || Math.abs(p - target) < Math.abs(best - target))) best = p;
  }
  return best ?? plain;
}

/**
 * Frames that `seconds` takes at `fps`, rounded up: what ffmpeg puts in a fragment of
 * `-frag_duration seconds`, and between key frames forced every `seconds` (when fps ×
 * seconds is fractional they are ceil() frames apart at times).
 */
export function framesIn(seconds: number, fps: number): number {
  return Math.max(1, Math.ceil(seconds * fps - 1e-6));
}

/**
 * `-frag_duration` for parts of `frames` frames at `fps`, seconds: half a frame short of
 * their length, so the fragment closes at the frame that starts the next part whatever
 * the rounding of timestamps.
 */
export function fragSeconds(frames: number, fps: number): number {
  return (frames - 0.5) / fps;
}
