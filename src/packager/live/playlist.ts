import { WHEP_AUDIO_RENDITION } from '../../core/preset.js';
import { partName, playlistName } from '../names.js';
import type { LivePart, LiveRenditionState } from './state.js';
import { serverControlFor } from './targets.js';
import {
  renderMediaPlaylist,
  type MediaPart,
  type MediaPlaylist,
  type MediaSegment,
  type RenditionReport,
} from '../playlist/media.js';

/**
 * Live Media Playlists from a LiveRenditionState: the full playlist, the delta update
 * (`_HLS_skip`), and the positions blocking reloads wait for. Pure: the packager uses it
 * to write playlists to storage, the origin to answer from memory.
 */

/**
 * RFC 8216bis section 8 puts EXT-X-SKIP at version 9. Every live playlist says 9, so the
 * full and delta forms of one playlist never differ in version.
 */
export const LIVE_PLAYLIST_VERSION = 9;

export interface LiveRenderOptions {
  /** A Playlist Delta Update (`_HLS_skip=YES`): older segments become one EXT-X-SKIP. */
  skip?: boolean;
  /** EXT-X-RENDITION-REPORT for each other rendition of the stream. */
  reports?: RenditionReport[];
}

/** The last part published: the position a blocking reload compares against. */
export interface PartPosition {
  msn: number;
  part: number;
}

const toPart = (p: LivePart): MediaPart =>
  p.independent
    ? { duration: p.duration, uri: p.uri, independent: true }
    : { duration: p.duration, uri: p.uri };

/** The last part that exists, or null before the first. */
export function lastPart(s: LiveRenditionState): PartPosition | null {
  if (s.open && s.open.parts.length > 0) return { msn: s.open.msn, part: s.open.parts.length - 1 };
  for (let i = s.segments.length - 1; i >= 0; i--) {
    const seg = s.segments[i]!;
    if (seg.partCount > 0) return { msn: seg.msn, part: seg.partCount - 1 };
  }
  return null;
}

/** msn of the last complete segment (gaps count), or mediaSequence - 1 when there is none. */
export function lastCompleteMsn(s: LiveRenditionState): number {
  return s.segments[s.segments.length - 1]?.msn ?? s.mediaSequence - 1;
}

/** msn of the last segment the playlist shows, complete or still being written. */
export function lastShownMsn(s: LiveRenditionState): number {
  return s.open?.msn ?? lastCompleteMsn(s);
}

/**
 * Whether the playlist satisfies a blocking reload. RFC 8216bis 6.2.5.2: with `_HLS_msn=M`
 * alone the server holds the request "until a Playlist contains a Media Segment with a
 * Media Sequence Number of M or later"; with `_HLS_part=P` as well, until it "contains
 * Partial Segment P of Media Segment M or later", that is a later part of M or any part
 * of a later segment.
 */
export function satisfies(s: LiveRenditionState, msn: number, part?: number): boolean {
  if (part === undefined) return lastCompleteMsn(s) >= msn;
  const last = lastPart(s);
  if (last && (last.msn > msn || (last.msn === msn && last.part >= part))) return true;
  // A segment M that ended without a part P (a gap, a short last segment) is "or later" once M+1 exists.
  return lastCompleteMsn(s) > msn;
}

/** Whether part (msn, part) was published: it exists in storage now. */
export function partPublished(s: LiveRenditionState, msn: number, part: number): boolean {
  if (s.open && s.open.msn === msn) return part < s.open.parts.length;
  const seg = s.segments.find((x) => x.msn === msn);
  if (seg) return part < seg.partCount;
  return msn < s.mediaSequence && msn >= 1;
}

/** Whether part (msn, part) can no longer appear: its segment is complete without it, or the stream ended. */
export function partNeverComing(s: LiveRenditionState, msn: number, part: number): boolean {
  if (partPublished(s, msn, part)) return false;
  if (s.ended) return true;
  if (s.open && s.open.msn === msn) return false;
  return msn <= lastCompleteMsn(s);
}

/** The next part's name (EXT-X-PRELOAD-HINT), or null once the stream ended. */
export function nextPartUri(s: LiveRenditionState): string | null {
  if (s.ended) return null;
  if (!s.open) return partName(s.rendition, s.nextMsn, 0);
  if (s.open.endsAfterThisPart) return partName(s.rendition, s.open.msn + 1, 0);
  return partName(s.rendition, s.open.msn, s.open.parts.length);
}

/** This rendition as another one reports it (EXT-X-RENDITION-REPORT), or null before its first part. */
export function renditionReport(s: LiveRenditionState): RenditionReport | null {
  // Not an HLS rendition: no player asks for it.
  if (s.rendition === WHEP_AUDIO_RENDITION) return null;
  const last = lastPart(s);
  if (!last) return null;
  return { uri: playlistName(s.rendition), lastMsn: last.msn, lastPart: last.part };
}

/**
 * How many leading segments a delta update may skip. RFC 8216bis 6.2.5.1: the server
 * "MUST NOT" skip a segment that is closer than the Skip Boundary (CAN-SKIP-UNTIL) to
 * the end of the playlist; a segment is skipped only when everything after it (later
 * segments and the open segment's parts) lasts at least that long.
 */
export function skippableSegments(s: LiveRenditionState): number {
  const boundary = serverControlFor(s.targetDuration, s.partTarget).canSkipUntil ?? Infinity;
  let after = (s.open?.parts ?? []).reduce((a, p) => a + p.duration, 0);
  let n = s.segments.length;
  // Walk back from the end; everything before the first segment whose suffix reaches the boundary is skippable.
  for (let i = s.segments.length - 1; i >= 0; i--) {
    if (after >= boundary - 1e-9) break;
    after += s.segments[i]!.duration;
    n = i;
  }
  return after >= boundary - 1e-9 ? n : 0;
}

/** The Media Playlist model of a live rendition (see renderLivePlaylist). */
export function liveMediaPlaylist(s: LiveRenditionState, o: LiveRenderOptions = {}): MediaPlaylist {
  const skipped = o.skip ? skippableSegments(s) : 0;
  const listed = s.segments.slice(skipped);
  const p: MediaPlaylist = {
    version: LIVE_PLAYLIST_VERSION,
    targetDuration: s.targetDuration,
    mediaSequence: s.mediaSequence,
    discontinuitySequence: s.discontinuitySequence,
    serverControl: serverControlFor(s.targetDuration, s.partTarget),
    partTarget: s.partTarget,
    segments: [],
  };
  if (skipped > 0) p.skip = { skippedSegments: skipped };
  // The first listed item's init segment: at the top of a full playlist, on the first
  // segment after EXT-X-SKIP in a delta (the skipped segments' tags are gone with them).
  const first = listed[0] ?? s.open;
  let map: string | undefined;
  if (first && skipped === 0) {
    p.map = { uri: first.map };
    map = first.map;
  }
  listed.forEach((seg, i) => {
    const m: MediaSegment = { duration: seg.duration, uri: seg.uri };
    if (seg.discontinuity) m.discontinuity = true;
    if (seg.map !== map) {
      m.map = { uri: seg.map };
      map = seg.map;
    }
    // PROGRAM-DATE-TIME on the first segment and after every discontinuity, where the
    // media timeline restarts (RFC 8216bis 4.4.4.6 ties it to the segment's first sample).
    if (i === 0 || seg.discontinuity) m.programDateTime = new Date(seg.pdtMs);
    if (seg.parts) m.parts = seg.parts.map(toPart);
    if (seg.gap) m.gap = true;
    p.segments.push(m);
  });
  const open = s.open;
  if (open && open.parts.length > 0) {
    p.trailingTags = {};
    if (open.discontinuity) p.trailingTags.discontinuity = true;
    if (open.map !== map) p.trailingTags.map = { uri: open.map };
    if (listed.length === 0 || open.discontinuity) p.trailingTags.programDateTime = new Date(open.pdtMs);
    p.trailingParts = open.parts.map(toPart);
  }
  if (s.ended) p.endList = true;
  else {
    // RFC 8216bis 4.4.5.3: "A Playlist MUST NOT contain more than one EXT-X-PRELOAD-HINT tag with the same TYPE".
    const hint = nextPartUri(s);
    if (hint) p.preloadHint = { type: 'PART', uri: hint };
  }
  if (o.reports && o.reports.length > 0) p.renditionReports = o.reports;
  return p;
}

/** The playlist text: full, or a delta update with `skip`. */
export function renderLivePlaylist(s: LiveRenditionState, o: LiveRenderOptions = {}): string {
  return renderMediaPlaylist(liveMediaPlaylist(s, o));
}
