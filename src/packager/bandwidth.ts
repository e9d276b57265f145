/** Segment bit rates for BANDWIDTH and AVERAGE-BANDWIDTH (RFC 8216bis 4.4.6.2). */

export interface SizedSegment {
  /** EXTINF duration, seconds. */
  duration: number;
  byteLength: number;
}

/**
 * RFC 8216bis 4.4.6.2: "The peak segment bit rate of a Media Playlist is the largest
 * bit rate of any contiguous set of segments whose total duration is between 0.5 and
 * 1.5 times the target duration. The bit rate of a set is calculated by dividing the
 * sum of the segment sizes by the sum of the segment durations."
 * A single segment longer than 1.5 × target (a GOP overrun) counts on its own too,
 * so an overlong segment cannot hide a peak; with no qualifying set at all (one
 * short segment) the average stands in. Bits per second.
 */
export function peakBitrate(segments: readonly SizedSegment[], targetDuration: number): number {
  const lo = 0.5 * targetDuration;
  const hi = 1.5 * targetDuration;
  let peak = 0;
  let found = false;
  for (let i = 0; i < segments.length; i++) {
    let bytes = 0;
    let seconds = 0;
    for (let j = i; j < segments.length; j++) {
      const s = segments[j]!;
      bytes += s.byteLength;
      seconds += s.duration;
      const tooLong = seconds > hi;
      if (seconds > 0 && (tooLong ? j === i : seconds >= lo)) {
        peak = Math.max(peak, (bytes * 8) / seconds);
        found = true;
      }
      if (tooLong) break;
    }
  }
  return found ? Math.round(peak) : averageBitrate(segments);
}

/**
 * RFC 8216bis 4.4.6.2: "The average segment bit rate of a Media Playlist is the sum of
 * the sizes (in bits) of every Media Segment in the Media Playlist, divided by the
 * Media Playlist duration." Bits per second.
 */
export function averageBitrate(segments: readonly SizedSegment[]): number {
  let bytes = 0;
  let seconds = 0;
  for (const s of segments) {
    bytes += s.byteLength;
    seconds += s.duration;
  }
  return seconds > 0 ? Math.round((bytes * 8) / seconds) : 0;
}
