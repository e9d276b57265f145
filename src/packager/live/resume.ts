import { partName, segmentName } from '../names.js';
import type { LiveOpenSegment, LivePart, LiveRenditionState, LiveSegment } from './state.js';
import type { RetiredSegment } from './timeline.js';
import { parseMediaPlaylist, type MediaPart } from '../playlist/media.js';

/**
 * Picks a live rendition up where another worker (or an earlier session of the same
 * stream id) left it, from the Media Playlist it stored: the only record that every
 * process can read, and exactly what players were told. Gives the window, the open
 * segment's published parts (the caller turns them into a segment) and a guess at what
 * still awaits deletion from the previous window.
 */

export interface ResumedRendition {
  state: LiveRenditionState;
  /** Segments of the previous grace period, by name pattern (counts of parts are guessed). */
  retired: RetiredSegment[];
  /** Highest `{rendition}_init_{n}.mp4` seen, 0 if none. */
  initIndex: number;
}

const toPart = (p: MediaPart): LivePart =>
  p.independent
    ? { uri: p.uri, duration: p.duration, independent: true }
    : { uri: p.uri, duration: p.duration };

export function initIndexOf(rendition: string, uri: string): number {
  const m = /^(.+)_init_(\d+)\.mp4$/.exec(uri);
  return m && m[1] === rendition ? Number(m[2]) : 0;
}

/**
 * Reads `text` (a playlist this packager wrote). Throws PlaylistError on text it cannot
 * parse, and Error when it is not a live playlist of ours (no EXT-X-MAP, no PART-INF).
 */
export function resumeFromPlaylist(
  rendition: string,
  text: string,
  o: { windowSegments: number; now: number },
): ResumedRendition {
  const p = parseMediaPlaylist(text);
  if (p.partTarget === undefined) throw new Error(`${rendition}.m3u8 is not a low-latency playlist`);
  const partTarget = p.partTarget;
  let map = p.map?.uri;
  let initIndex = map ? initIndexOf(rendition, map) : 0;
  const total = p.segments.reduce((a, s) => a + s.duration, 0);
  let pdtMs = p.segments[0]?.programDateTime?.getTime() ?? o.now - total * 1000;
  const segments: LiveSegment[] = [];
  p.segments.forEach((s, i) => {
    if (s.map) map = s.map.uri;
    if (!map) throw new Error(`${rendition}.m3u8 has a segment without EXT-X-MAP`);
    initIndex = Math.max(initIndex, initIndexOf(rendition, map));
    if (s.programDateTime) pdtMs = s.programDateTime.getTime();
    const msn = p.mediaSequence + i;
    const seg: LiveSegment = {
      msn,
      uri: s.uri,
      duration: s.duration,
      pdtMs,
      map,
      // Parts no longer listed: a guess, used only to name files to delete.
      partCount: s.parts?.length ?? (s.gap ? 0 : Math.ceil(s.duration / partTarget) + 1),
      byteLength: 0,
    };
    if (s.discontinuity) seg.discontinuity = true;
    if (s.gap) seg.gap = true;
    if (s.parts) seg.parts = s.parts.map(toPart);
    segments.push(seg);
    pdtMs += s.duration * 1000;
  });
  const openMsn = p.mediaSequence + segments.length;
  let open: LiveOpenSegment | null = null;
  if (p.trailingParts && p.trailingParts.length > 0) {
    const t = p.trailingTags ?? {};
    const openMap = t.map?.uri ?? map;
    if (!openMap) throw new Error(`${rendition}.m3u8 has parts without EXT-X-MAP`);
    initIndex = Math.max(initIndex, initIndexOf(rendition, openMap));
    open = {
      msn: openMsn,
      pdtMs: t.programDateTime?.getTime() ?? pdtMs,
      map: openMap,
      parts: p.trailingParts.map(toPart),
      byteLength: 0,
    };
    if (t.discontinuity) open.discontinuity = true;
  }
  const state: LiveRenditionState = {
    rendition,
    targetDuration: p.targetDuration,
    partTarget,
    mediaSequence: p.mediaSequence,
    discontinuitySequence: p.discontinuitySequence ?? 0,
    segments,
    open,
    nextMsn: openMsn,
    ended: p.endList === true,
    version: 0,
    updatedMs: o.now,
  };
  // The previous window's grace period: up to a window of older segments may still exist.
  const retired: RetiredSegment[] = [];
  const guessParts = Math.ceil(p.targetDuration / partTarget) + 2;
  const firstMap = segments[0]?.map ?? open?.map ?? '';
  for (let msn = Math.max(1, p.mediaSequence - o.windowSegments); msn < p.mediaSequence; msn++) {
    const names = [segmentName(rendition, msn)];
    for (let i = 0; i < guessParts; i++) names.push(partName(rendition, msn, i));
    retired.push({ msn, names, map: firstMap });
  }
  return { state, retired, initIndex };
}
