import { initName, playlistName } from '../names.js';
import { averageBitrate, peakBitrate } from '../bandwidth.js';
import type { TrackInfo } from '../mp4/init.js';
import { requiredVersion, type MediaPlaylist } from '../playlist/media.js';
import type { MultivariantPlaylist, Rendition, Variant } from '../playlist/multivariant.js';
import type { RenditionSpec } from '../rendition.js';
import { type SegmentReady } from '../segmenter.js';
import { AUDIO_GROUP, audioRendition, type MultivariantOptions } from '../playlist/audio-rendition.js';

export type { MultivariantOptions } from '../playlist/audio-rendition.js';

/** Everything the packager learnt about one rendition by the end of its input. */
export interface RenditionRecord {
  spec: RenditionSpec;
  track: TrackInfo;
  segments: SegmentReady[];
  /** Samples (frames) seen, for a measured frame rate. */
  samples: number;
}

/** Per-rendition figures of a finished VOD. */
export interface RenditionSummary {
  name: string;
  kind: 'video' | 'audio';
  codec: string;
  playlist: string;
  segments: number;
  /** Sum of segment durations, seconds. */
  durationSeconds: number;
  bytes: number;
  targetDuration: number;
  /** RFC 8216bis peak segment bit rate, bits/s. */
  peakBandwidth: number;
  /** bits/s over the whole rendition. */
  averageBandwidth: number;
  width?: number;
  height?: number;
  /** Frames per second (video): the spec's, else measured. */
  frameRate?: number;
}

/** Compatibility version for our media playlists; fMP4 with EXT-X-MAP needs at least 6 (RFC 8216bis section 8). */
export const MEDIA_PLAYLIST_VERSION = 7;

/**
 * RFC 8216bis 4.4.3.1: "The EXTINF duration of each Media Segment in a Playlist file,
 * when rounded to the nearest integer, MUST be less than or equal to the Target
 * Duration." Rounding up satisfies that and leaves no segment above the target,
 * which some players assume. The 1 µs slack absorbs float noise in tick ratios.
 */
export function targetDurationOf(segments: readonly { duration: number }[]): number {
  const max = Math.max(0, ...segments.map((s) => s.duration));
  return Math.max(1, Math.ceil(max - 1e-6));
}

export function summarize(r: RenditionRecord): RenditionSummary {
  const target = targetDurationOf(r.segments);
  const duration = r.segments.reduce((a, s) => a + s.duration, 0);
  const s: RenditionSummary = {
    name: r.spec.name,
    kind: r.spec.kind,
    codec: r.track.codec,
    playlist: playlistName(r.spec.name),
    segments: r.segments.length,
    durationSeconds: duration,
    bytes: r.segments.reduce((a, x) => a + x.byteLength, 0),
    targetDuration: target,
    peakBandwidth: peakBitrate(r.segments, target),
    averageBandwidth: averageBitrate(r.segments),
  };
  if (r.spec.kind === 'video') {
    const width = r.track.width || r.spec.width;
    const height = r.track.height || r.spec.height;
    if (width && height) {
      s.width = width;
      s.height = height;
    }
    const fps = r.spec.fps ?? (duration > 0 ? r.samples / duration : undefined);
    if (fps !== undefined) s.frameRate = fps;
  }
  return s;
}

/** The finished rendition's Media Playlist: every segment, EXT-X-ENDLIST. */
export function vodMediaPlaylist(r: RenditionRecord): MediaPlaylist {
  const p: MediaPlaylist = {
    version: MEDIA_PLAYLIST_VERSION,
    targetDuration: targetDurationOf(r.segments),
    mediaSequence: r.segments[0]?.msn ?? 1,
    playlistType: 'VOD',
    // RFC 8216bis 4.4.2.1: EXT-X-INDEPENDENT-SEGMENTS "indicates that all media samples
    // in a Media Segment can be decoded without information from other segments";
    // claimed only when every segment starts with a sync sample.
    independentSegments: r.segments.every((s) => s.independent),
    map: { uri: initName(r.spec.name) },
    segments: r.segments.map((s) => ({ duration: s.duration, uri: s.name })),
    endList: true,
  };
  p.version = Math.max(p.version, requiredVersion(p));
  return p;
}

/**
 * The ladder's Multivariant Playlist: one variant per video rendition, highest
 * BANDWIDTH first, each playing with the audio rendition when there is one.
 */
export function vodMultivariantPlaylist(
  records: readonly RenditionRecord[],
  options: MultivariantOptions = {},
): MultivariantPlaylist {
  const audio = records.find((r) => r.spec.kind === 'audio');
  const audioSum = audio ? summarize(audio) : undefined;
  const hasVideo = records.some((r) => r.spec.kind === 'video');
  const renditions: Rendition[] = [];
  if (audio && hasVideo) {
    renditions.push(audioRendition(audio, options));
  }
  const variants: Variant[] = [];
  for (const r of records) {
    if (r.spec.kind !== 'video') continue;
    const s = summarize(r);
    const v: Variant = {
      // RFC 8216bis 4.4.6.2: "If all the Media Segments in a Variant Stream have already
      // been created, the BANDWIDTH value MUST be the largest sum of peak segment bit
      // rates that is produced by any playable combination of Renditions." One video
      // and one audio rendition: their sum.
      bandwidth: s.peakBandwidth + (audioSum?.peakBandwidth ?? 0),
      averageBandwidth: s.averageBandwidth + (audioSum?.averageBandwidth ?? 0),
      // RFC 8216bis 4.4.6.2: "Every EXT-X-STREAM-INF tag SHOULD include a CODECS
      // attribute. The value is a quoted-string containing a comma-separated list of
      // formats, where each format specifies a media sample type that is present in
      // one or more Renditions specified by the Variant Stream."
      codecs: audio ? [r.track.codec, audio.track.codec] : [r.track.codec],
      closedCaptions: 'NONE',
      uri: s.playlist,
    };
    if (s.width && s.height) v.resolution = { width: s.width, height: s.height };
    if (s.frameRate !== undefined) v.frameRate = s.frameRate;
    if (audio) v.audio = AUDIO_GROUP;
    variants.push(v);
  }
  if (!hasVideo && audio && audioSum) {
    variants.push({
      bandwidth: audioSum.peakBandwidth,
      averageBandwidth: audioSum.averageBandwidth,
      codecs: [audio.track.codec],
      closedCaptions: 'NONE',
      uri: audioSum.playlist,
    });
  }
  variants.sort((a, b) => b.bandwidth - a.bandwidth);
  return {
    independentSegments: records.every((r) => r.segments.every((s) => s.independent)),
    renditions,
    variants,
  };
}
