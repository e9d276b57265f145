/**
 * Media Playlists (RFC 8216bis 4.4.3-4.4.5) as a typed model with a renderer and a
 * parser. VOD uses the basic tags; the LL-HLS fields (parts, preload hint, server
 * control, skip, rendition reports, program date time) are modelled now so live
 * publishing only fills them in.
 */

export interface ByteRange {
  length: number;
  /** Absent: right after the previous range of the same resource. */
  offset?: number;
}

export interface MediaMap {
  uri: string;
  byteRange?: ByteRange;
}

/** EXT-X-SERVER-CONTROL (4.4.3.8); seconds. */
export interface ServerControl {
  canBlockReload?: boolean;
  canSkipUntil?: number;
  canSkipDateRanges?: boolean;
  holdBack?: number;
  partHoldBack?: number;
}

/** EXT-X-PART (4.4.4.9); duration in seconds. */
export interface MediaPart {
  duration: number;
  uri: string;
  independent?: boolean;
  byteRange?: ByteRange;
  gap?: boolean;
}

export interface MediaSegment {
  /** EXTINF duration, seconds. */
  duration: number;
  title?: string;
  uri: string;
  discontinuity?: boolean;
  programDateTime?: Date;
  gap?: boolean;
  byteRange?: ByteRange;
  /** An EXT-X-MAP that takes effect from this segment on (after a discontinuity). */
  map?: MediaMap;
  /** The segment's parts, listed before its EXTINF (LL-HLS). */
  parts?: MediaPart[];
}

/** Media Segment tags of the segment still being written (see MediaPlaylist.trailingTags). */
export interface TrailingTags {
  discontinuity?: boolean;
  map?: MediaMap;
  programDateTime?: Date;
}

/** EXT-X-PRELOAD-HINT (4.4.5.3). */
export interface PreloadHint {
  type: 'PART' | 'MAP';
  uri: string;
  byteRangeStart?: number;
  byteRangeLength?: number;
}

/** EXT-X-RENDITION-REPORT (4.4.5.4). */
export interface RenditionReport {
  uri: string;
  lastMsn?: number;
  lastPart?: number;
}

/** EXT-X-SKIP (4.4.5.2), in a delta update. */
export interface Skip {
  skippedSegments: number;
  recentlyRemovedDateRanges?: string[];
}

export interface MediaPlaylist {
  version: number;
  /** EXT-X-TARGETDURATION, whole seconds. */
  targetDuration: number;
  mediaSequence: number;
  discontinuitySequence?: number;
  playlistType?: 'VOD' | 'EVENT';
  independentSegments?: boolean;
  serverControl?: ServerControl;
  /** EXT-X-PART-INF PART-TARGET, seconds. */
  partTarget?: number;
  /** The EXT-X-MAP before the first segment. */
  map?: MediaMap;
  skip?: Skip;
  segments: MediaSegment[];
  /**
   * Tags of the segment still being written that come before its first part: after a
   * discontinuity its EXT-X-DISCONTINUITY and EXT-X-MAP, and its PROGRAM-DATE-TIME
   * (RFC 8216bis 4.4.4: Media Segment tags apply to the next segment, whose parts are
   * listed before its EXTINF).
   */
  trailingTags?: TrailingTags;
  /** Parts of the segment still being written, after the last EXTINF. */
  trailingParts?: MediaPart[];
  preloadHint?: PreloadHint;
  renditionReports?: RenditionReport[];
  endList?: boolean;
}

export { renderMediaPlaylist, requiredVersion } from './media-render.js';
export { parseMediaPlaylist } from './media-parse.js';
