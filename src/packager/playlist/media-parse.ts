import { Attrs, PlaylistError, playlistLines, splitTag } from './attributes.js';
import type {
  ByteRange,
  MediaMap,
  MediaPart,
  MediaPlaylist,
  MediaSegment,
  RenditionReport,
  ServerControl,
  TrailingTags,
} from './media.js';

function parseByteRange(s: string): ByteRange {
  const m = /^(\d+)(?:@(\d+))?$/.exec(s);
  if (!m) throw new PlaylistError(`bad byte range "${s}"`);
  return m[2] === undefined ? { length: Number(m[1]) } : { length: Number(m[1]), offset: Number(m[2]) };
}

function parsePart(a: Attrs): MediaPart {
  const part: MediaPart = { duration: a.requireNum('DURATION'), uri: a.requireStr('URI') };
  if (a.bool('INDEPENDENT')) part.independent = true;
  const br = a.str('BYTERANGE');
  if (br !== undefined) part.byteRange = parseByteRange(br);
  if (a.bool('GAP')) part.gap = true;
  return part;
}

function parseMap(a: Attrs): MediaMap {
  const m: MediaMap = { uri: a.requireStr('URI') };
  const br = a.str('BYTERANGE');
  if (br !== undefined) m.byteRange = parseByteRange(br);
  return m;
}

/** Parses a Media Playlist; unknown tags and comments are skipped. */
export function parseMediaPlaylist(text: string): MediaPlaylist {
  const p: MediaPlaylist = { version: 1, targetDuration: -1, mediaSequence: 0, segments: [] };
  let versionSeen = false;
  // Tags that apply to the next segment, gathered until its URI line.
  let next: Partial<MediaSegment> & { duration?: number } = {};
  let pendingParts: MediaPart[] = [];
  for (const line of playlistLines(text)) {
    if (!line.startsWith('#')) {
      if (next.duration === undefined) throw new PlaylistError(`URI ${line} without EXTINF`);
      const seg: MediaSegment = { ...next, duration: next.duration, uri: line };
      if (pendingParts.length > 0) seg.parts = pendingParts;
      p.segments.push(seg);
      next = {};
      pendingParts = [];
      continue;
    }
    if (!line.startsWith('#EXT')) continue;
    const [tag, value] = splitTag(line);
    switch (tag) {
      case '#EXT-X-VERSION':
        // RFC 8216bis 4.4.1.2: "A Playlist file MUST NOT contain more than one
        // EXT-X-VERSION tag. If a client encounters a Playlist with multiple
        // EXT-X-VERSION tags, it MUST fail to parse it."
        if (versionSeen) throw new PlaylistError('more than one EXT-X-VERSION');
        versionSeen = true;
        p.version = Number(value);
        break;
      case '#EXT-X-TARGETDURATION':
        p.targetDuration = Number(value);
        break;
      case '#EXT-X-MEDIA-SEQUENCE':
        p.mediaSequence = Number(value);
        break;
      case '#EXT-X-DISCONTINUITY-SEQUENCE':
        p.discontinuitySequence = Number(value);
        break;
      case '#EXT-X-PLAYLIST-TYPE':
        if (value !== 'VOD' && value !== 'EVENT') throw new PlaylistError(`bad EXT-X-PLAYLIST-TYPE ${value}`);
        p.playlistType = value;
        break;
      case '#EXT-X-INDEPENDENT-SEGMENTS':
        p.independentSegments = true;
        break;
      case '#EXT-X-ENDLIST':
        p.endList = true;
        break;
      case '#EXT-X-SERVER-CONTROL': {
        const a = new Attrs(tag, value);
        const c: ServerControl = {};
        if (a.bool('CAN-BLOCK-RELOAD')) c.canBlockReload = true;
        if (a.has('CAN-SKIP-UNTIL')) c.canSkipUntil = a.requireNum('CAN-SKIP-UNTIL');
        if (a.bool('CAN-SKIP-DATERANGES')) c.canSkipDateRanges = true;
        if (a.has('HOLD-BACK')) c.holdBack = a.requireNum('HOLD-BACK');
        if (a.has('PART-HOLD-BACK')) c.partHoldBack = a.requireNum('PART-HOLD-BACK');
        p.serverControl = c;
        break;
      }
      case '#EXT-X-PART-INF':
        p.partTarget = new Attrs(tag, value).requireNum('PART-TARGET');
        break;
      case '#EXT-X-MAP': {
        const m = parseMap(new Attrs(tag, value));
        if (p.segments.length === 0 && pendingParts.length === 0 && !p.map) p.map = m;
        else next.map = m;
        break;
      }
      case '#EXT-X-SKIP': {
        const a = new Attrs(tag, value);
        p.skip = { skippedSegments: a.requireNum('SKIPPED-SEGMENTS') };
        const removed = a.str('RECENTLY-REMOVED-DATERANGES');
        if (removed !== undefined) p.skip.recentlyRemovedDateRanges = removed.split('\t');
        break;
      }
      case '#EXT-X-DISCONTINUITY':
        next.discontinuity = true;
        break;
      case '#EXT-X-GAP':
        next.gap = true;
        break;
      case '#EXT-X-PROGRAM-DATE-TIME': {
        const d = new Date(value);
        if (Number.isNaN(d.getTime())) throw new PlaylistError(`bad EXT-X-PROGRAM-DATE-TIME ${value}`);
        next.programDateTime = d;
        break;
      }
      case '#EXT-X-BYTERANGE':
        next.byteRange = parseByteRange(value);
        break;
      case '#EXTINF': {
        const comma = value.indexOf(',');
        const d = Number(comma < 0 ? value : value.slice(0, comma));
        if (!Number.isFinite(d) || d < 0) throw new PlaylistError(`bad EXTINF ${value}`);
        next.duration = d;
        const title = comma < 0 ? '' : value.slice(comma + 1);
        if (title !== '') next.title = title;
        break;
      }
      case '#EXT-X-PART':
        pendingParts.push(parsePart(new Attrs(tag, value)));
        break;
      case '#EXT-X-PRELOAD-HINT': {
        const a = new Attrs(tag, value);
        const type = a.requireStr('TYPE');
        if (type !== 'PART' && type !== 'MAP') throw new PlaylistError(`bad PRELOAD-HINT TYPE ${type}`);
        p.preloadHint = { type, uri: a.requireStr('URI') };
        const start = a.num('BYTERANGE-START');
        const len = a.num('BYTERANGE-LENGTH');
        if (start !== undefined) p.preloadHint.byteRangeStart = start;
        if (len !== undefined) p.preloadHint.byteRangeLength = len;
        break;
      }
      case '#EXT-X-RENDITION-REPORT': {
        const a = new Attrs(tag, value);
        const r: RenditionReport = { uri: a.requireStr('URI') };
        const msn = a.num('LAST-MSN');
        const part = a.num('LAST-PART');
        if (msn !== undefined) r.lastMsn = msn;
        if (part !== undefined) r.lastPart = part;
        (p.renditionReports ??= []).push(r);
        break;
      }
      default:
        break;
    }
  }
  // RFC 8216bis 4.4.3.1: "The EXT-X-TARGETDURATION tag is REQUIRED."
  if (p.targetDuration < 0 || !Number.isInteger(p.targetDuration)) {
    throw new PlaylistError('missing or bad EXT-X-TARGETDURATION');
  }
  if (next.duration !== undefined) throw new PlaylistError('EXTINF without a URI at the end');
  if (pendingParts.length > 0) {
    p.trailingParts = pendingParts;
    const t: TrailingTags = {};
    if (next.discontinuity) t.discontinuity = true;
    if (next.map) t.map = next.map;
    if (next.programDateTime) t.programDateTime = next.programDateTime;
    if (Object.keys(t).length > 0) p.trailingTags = t;
  }
  return p;
}
