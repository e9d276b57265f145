/**
 * How long a blocking playlist request is held before 503. RFC 8216bis 6.2.5.2 lets a
 * server wait up to three target durations. hls.js gives up earlier: for a request with
 * `_HLS_part` it sets its timeout to max(3 x PART-TARGET, 0.8 x TARGETDURATION)
 * (playlist-loader.ts, "maxLowLatencyPlaylistRefresh"), else its level loading default of
 * 10 s. A 503 that arrives after the client gave up is wasted and the client's retry
 * starts late, so the origin answers at 85% of hls.js's timeout (at least 250 ms
 * before it), capped at 3 x TARGETDURATION. Target 4 s, part 0.342 s: 2.72 s; target
 * 1 s, part 0.2 s: 0.55 s; without `_HLS_part`, target 4 s: 8.5 s.
 */
export function blockingTimeoutMs(targetDuration: number, partTarget: number, withPart: boolean): number {
  const hlsJsMs = withPart ? Math.max(3 * partTarget, 0.8 * targetDuration) * 1000 : 10_000;
  const ms = Math.min(hlsJsMs * 0.85, hlsJsMs - 250, 3 * targetDuration * 1000);
  return Math.max(100, Math.round(ms));
}

/** How long a request for a part that does not exist yet is held: as a playlist without `_HLS_part`. */
export function partWaitMs(targetDuration: number, partTarget: number): number {
  return blockingTimeoutMs(targetDuration, partTarget, false);
}
